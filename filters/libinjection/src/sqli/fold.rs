//! Folding: reduces the token stream to at most five tokens that carry its SQL shape.

use super::token::{Token, TokenType};
use super::tokenizer::Tokenizer;

use TokenType as T;

/// Most tokens a fingerprint holds.
pub const MAX_TOKENS: usize = 5;

/// Token slots: five for the fingerprint plus look-ahead room.
pub type TokenVec = [Token; MAX_TOKENS + 3];

/// Outcome of the two-token rules.
enum PairRule {
    /// Tokens changed: start the folding loop again.
    Restart,
    /// Nothing (or only a retype) happened: look at three tokens.
    Next,
    /// Folding ends here with this many tokens.
    Done(usize),
}

/// Bare words that act as functions when followed by `(`.
const FUNCTION_WORDS: [&[u8]; 11] = [
    b"USER_ID",
    b"USER_NAME",
    b"DATABASE",
    b"PASSWORD",
    b"USER",
    b"CURRENT_USER",
    b"CURRENT_DATE",
    b"CURRENT_TIME",
    b"CURRENT_TIMESTAMP",
    b"LOCALTIME",
    b"LOCALTIMESTAMP",
];

/// Folding pass over one tokenizer; the last comment is kept aside and re-added at the end.
struct Folder<'t, 'a> {
    tz: &'t mut Tokenizer<'a>,
    tv: &'t mut TokenVec,
    last_comment: Token,
    more: bool,
}

impl Folder<'_, '_> {
    /// Reads tokens into slots `pos..` until `pos - left` reaches `want` (comments set aside).
    fn fill(&mut self, pos: &mut usize, left: usize, want: usize) {
        while self.more && *pos <= MAX_TOKENS && *pos - left < want {
            self.more = self.tz.next_token(&mut self.tv[*pos]);
            if self.more {
                if self.tv[*pos].kind == T::Comment {
                    self.last_comment = self.tv[*pos];
                } else {
                    self.last_comment.kind = T::None;
                    *pos += 1;
                }
            }
        }
    }
}

/// True for the five-token shapes that are collapsed to keep looking (e.g. `1,(1)`).
fn collapsible_prefix(tv: &TokenVec) -> bool {
    let k: [TokenType; 5] = [tv[0].kind, tv[1].kind, tv[2].kind, tv[3].kind, tv[4].kind];
    matches!(
        k,
        [
            T::Number,
            T::Operator | T::Comma,
            T::LeftParens,
            T::Number,
            T::RightParens
        ] | [
            T::Bareword,
            T::Operator,
            T::LeftParens,
            T::Bareword | T::Number,
            T::RightParens
        ] | [T::Number, T::RightParens, T::Comma, T::LeftParens, T::Number]
            | [T::Bareword, T::RightParens, T::Operator, T::LeftParens, T::Bareword]
    )
}

/// Merges `a b` into one token when the phrase is a known multi-word keyword (`UNION ALL`).
fn merge_words(a: &mut Token, b: &Token) -> bool {
    let mergeable = |t: TokenType| {
        matches!(
            t,
            T::Keyword | T::Bareword | T::Operator | T::Union | T::Function | T::Expression | T::Tsql | T::SqlType
        )
    };
    if !mergeable(a.kind) || !(mergeable(b.kind) || b.kind == T::LogicOperator) {
        return false;
    }
    let joined_len = a.len + b.len + 1;
    if joined_len >= super::token::TOKEN_SIZE {
        return false;
    }
    let mut buf = [0u8; super::token::TOKEN_SIZE];
    buf[..a.len].copy_from_slice(a.value());
    buf[a.len] = b' ';
    buf[a.len + 1..joined_len].copy_from_slice(b.value());
    match super::tokenizer::lookup(&buf[..joined_len]) {
        Some(kind) => {
            let pos = a.pos;
            a.assign(kind, pos, &buf[..joined_len]);
            true
        }
        None => false,
    }
}

/// Folds the tokens of `tz` into `tv`; returns how many of them form the fingerprint.
pub fn fold(tz: &mut Tokenizer<'_>, tv: &mut TokenVec) -> usize {
    let mut f = Folder {
        tz,
        tv,
        last_comment: Token::default(),
        more: true,
    };

    // Skip leading comments, '(', SQL types and unary operators.
    loop {
        f.more = f.tz.next_token(&mut f.tv[0]);
        let t = &f.tv[0];
        let skip = matches!(t.kind, T::Comment | T::LeftParens | T::SqlType) || t.is_unary_op();
        if !(f.more && skip) {
            break;
        }
    }
    if !f.more {
        return 0;
    }

    // `pos`: where the next token goes; `left`: tokens already final.
    let mut pos = 1usize;
    let mut left = 0usize;
    loop {
        if pos >= MAX_TOKENS && collapsible_prefix(f.tv) {
            if pos > MAX_TOKENS {
                f.tv[1] = f.tv[MAX_TOKENS];
                pos = 2;
            } else {
                pos = 1;
            }
            left = 0;
        }

        if !f.more || left >= MAX_TOKENS {
            left = pos;
            break;
        }

        f.fill(&mut pos, left, 2);
        if pos - left < 2 {
            left = pos;
            continue;
        }

        match fold_pair(f.tv, &mut pos, &mut left) {
            PairRule::Restart => continue,
            PairRule::Done(n) => return n,
            PairRule::Next => {}
        }

        f.fill(&mut pos, left, 3);
        if pos - left < 3 {
            left = pos;
            continue;
        }

        if fold_triple(f.tv, &mut pos, &mut left) {
            continue;
        }
        left += 1;
    }

    // Re-add a trailing comment when there is room.
    if left < MAX_TOKENS && f.last_comment.kind == T::Comment {
        f.tv[left] = f.last_comment;
        left += 1;
    }
    left.min(MAX_TOKENS)
}

/// Two-token rules on `tv[left]`, `tv[left + 1]`.
fn fold_pair(tv: &mut TokenVec, pos: &mut usize, left: &mut usize) -> PairRule {
    let l = *left;
    let (a, b) = (tv[l], tv[l + 1]);
    let back_one = |left: &mut usize| *left = left.saturating_sub(1);

    if (a.kind == T::String && b.kind == T::String) || (a.kind == T::Semicolon && b.kind == T::Semicolon) {
        // "foo" "bar" is one string; ";;" is one ';'.
        *pos -= 1;
        return PairRule::Restart;
    }
    if matches!(a.kind, T::Operator | T::LogicOperator) && (b.is_unary_op() || b.kind == T::SqlType) {
        *pos -= 1;
        *left = 0;
        return PairRule::Restart;
    }
    if a.kind == T::LeftParens && b.is_unary_op() {
        *pos -= 1;
        back_one(left);
        return PairRule::Restart;
    }
    {
        let (head, tail) = tv.split_at_mut(l + 1);
        if merge_words(&mut head[l], &tail[0]) {
            *pos -= 1;
            back_one(left);
            return PairRule::Restart;
        }
    }
    if a.kind == T::Semicolon
        && b.kind == T::Function
        && b.byte(0).eq_ignore_ascii_case(&b'I')
        && b.byte(1).eq_ignore_ascii_case(&b'F')
    {
        // T-SQL: "; IF ..." is control flow, not the IF() function.
        tv[l + 1].kind = T::Tsql;
        return PairRule::Restart;
    }
    if matches!(a.kind, T::Bareword | T::Variable)
        && b.kind == T::LeftParens
        && FUNCTION_WORDS.iter().any(|w| a.value_is(w))
    {
        tv[l].kind = T::Function;
        return PairRule::Restart;
    }
    if a.kind == T::Keyword && (a.value_is(b"IN") || a.value_is(b"NOT IN")) {
        // "IN (" is an operator; otherwise (e.g. "IN BOOLEAN MODE") nothing yet.
        tv[l].kind = if b.kind == T::LeftParens {
            T::Operator
        } else {
            T::Bareword
        };
        return PairRule::Restart;
    }
    if a.kind == T::Operator && (a.value_is(b"LIKE") || a.value_is(b"NOT LIKE")) {
        if b.kind == T::LeftParens {
            tv[l].kind = T::Function;
        }
        return PairRule::Next;
    }
    if a.kind == T::SqlType
        && matches!(
            b.kind,
            T::Bareword | T::Number | T::SqlType | T::LeftParens | T::Function | T::Variable | T::String
        )
    {
        tv[l] = b;
        *pos -= 1;
        *left = 0;
        return PairRule::Restart;
    }
    if a.kind == T::Collate && b.kind == T::Bareword {
        // Too many collations to list: a bare word with '_' is taken as one.
        if b.c_value().contains(&b'_') {
            tv[l + 1].kind = T::SqlType;
            *left = 0;
        }
        return PairRule::Next;
    }
    if a.kind == T::Backslash {
        if b.is_arithmetic_op() {
            // T-SQL reads "\%1" as "0 % 1".
            tv[l].kind = T::Number;
        } else {
            // ... and "\1" as "1".
            tv[l] = b;
            *pos -= 1;
        }
        *left = 0;
        return PairRule::Restart;
    }
    if (a.kind == T::LeftParens && b.kind == T::LeftParens) || (a.kind == T::RightParens && b.kind == T::RightParens) {
        *pos -= 1;
        *left = 0;
        return PairRule::Restart;
    }
    if a.kind == T::LeftBrace && b.kind == T::Bareword {
        // MySQL "{ ``.``.id }" is too odd to parse: evil. Otherwise ODBC "{foo expr}" -> expr.
        if b.len == 0 {
            tv[l + 1].kind = T::Evil;
            return PairRule::Done(l + 2);
        }
        *left = 0;
        *pos -= 2;
        return PairRule::Restart;
    }
    if b.kind == T::RightBrace {
        *pos -= 1;
        *left = 0;
        return PairRule::Restart;
    }
    PairRule::Next
}

/// Three-token rules on `tv[left..left + 3]`; true when tokens changed (restart folding).
fn fold_triple(tv: &mut TokenVec, pos: &mut usize, left: &mut usize) -> bool {
    let l = *left;
    let (a, b, c) = (tv[l], tv[l + 1], tv[l + 2]);
    let value_like = |t: TokenType| matches!(t, T::Bareword | T::Number | T::String | T::Variable);

    let drop_two = (a.kind == T::Number && b.kind == T::Operator && c.kind == T::Number)
        || (a.kind == T::Operator && b.kind != T::LeftParens && c.kind == T::Operator)
        || (a.kind == T::LogicOperator && c.kind == T::LogicOperator)
        || (a.kind == T::Variable && b.kind == T::Operator && matches!(c.kind, T::Variable | T::Number | T::Bareword))
        || (matches!(a.kind, T::Bareword | T::Number)
            && b.kind == T::Operator
            && matches!(c.kind, T::Number | T::Bareword))
        || (value_like(a.kind) && b.kind == T::Operator && b.c_value() == b"::" && c.kind == T::SqlType)
        || (value_like(a.kind) && b.kind == T::Comma && value_like(c.kind));
    if drop_two {
        *pos -= 2;
        *left = 0;
        return true;
    }

    let unary_b = b.is_unary_op();
    if matches!(a.kind, T::Expression | T::Group | T::Comma) && unary_b && c.kind == T::LeftParens {
        // "SELECT + (", "LIMIT + (": drop the unary operator.
        tv[l + 1] = c;
        *pos -= 1;
        *left = 0;
        return true;
    }
    if matches!(a.kind, T::Keyword | T::Expression | T::Group)
        && unary_b
        && matches!(c.kind, T::Number | T::Bareword | T::Variable | T::String | T::Function)
    {
        // "select - 1": drop the unary operator.
        tv[l + 1] = c;
        *pos -= 1;
        *left = 0;
        return true;
    }
    if a.kind == T::Comma && unary_b && value_like(c.kind) {
        // ", -1" -> ",1", then back up so that "1,-1" folds to "1".
        tv[l + 1] = c;
        *left = 0;
        *pos = pos.saturating_sub(3);
        return true;
    }
    if a.kind == T::Comma && unary_b && c.kind == T::Function {
        // "1,-sin(1)" -> "1,sin(1)".
        tv[l + 1] = c;
        *pos -= 1;
        *left = 0;
        return true;
    }
    if a.kind == T::Bareword && b.kind == T::Dot && c.kind == T::Bareword {
        // "database.table"
        *pos -= 2;
        *left = 0;
        return true;
    }
    if a.kind == T::Expression && b.kind == T::Dot && c.kind == T::Bareword {
        // "select . `foo`" -> "select `foo`"
        tv[l + 1] = c;
        *pos -= 1;
        *left = 0;
        return true;
    }
    if a.kind == T::Function && b.kind == T::LeftParens && c.kind != T::RightParens && a.value_is(b"USER") {
        // USER() takes no arguments: "user(foo)" is a column, not the function.
        tv[l].kind = T::Bareword;
    }
    false
}
