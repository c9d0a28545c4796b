//! `cmdLine`.

use std::borrow::Cow;

/// `t:cmdLine`: deletes `"` `'` `\` `^`; turns runs of space, `,`, `;`, \t, \r, \n into one
/// space; deletes a space before `/` or `(`; lowercases ASCII.
pub(crate) fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut space = false;
    for &c in input {
        match c {
            b'"' | b'\'' | b'\\' | b'^' => {}
            b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(c);
            }
            _ => {
                out.push(c.to_ascii_lowercase());
                space = false;
            }
        }
    }
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(&*cmd_line(b"C^ommand /c \"DiR\""), b"command/c dir");
        assert_eq!(&*cmd_line(b"a ,; \t\r\nb"), b"a b");
        assert_eq!(&*cmd_line(b"echo  (x)"), b"echo(x)");
        assert_eq!(&*cmd_line(b"'\\\"^"), b"");
        assert_eq!(&*cmd_line(b" /x"), b"/x");
        assert!(matches!(cmd_line(b"ls -la"), Cow::Borrowed(_)));
    }
}
