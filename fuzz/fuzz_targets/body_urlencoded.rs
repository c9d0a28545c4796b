//! The urlencoded body processor (and query strings): one argument per separated piece, and
//! decoding never lengthens a name or value. The first byte picks the separator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_seclang::fuzzing::urlencoded;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let separator = if pick & 1 == 0 { b'&' } else { b';' };
    let (args, _invalid) = urlencoded(input, separator);
    // getline splitting: no piece for "", none after a trailing separator.
    let separators = input.iter().filter(|&&b| b == separator).count();
    let expected = if input.is_empty() {
        0
    } else if input.last() == Some(&separator) {
        separators
    } else {
        separators + 1
    };
    assert_eq!(args.len(), expected, "argument count");
    let decoded: usize = args.iter().map(|(n, v)| n.len() + v.len()).sum();
    assert!(decoded <= input.len(), "decoding lengthened the input");
    assert_eq!((args, _invalid), urlencoded(input, separator), "not deterministic");
});
