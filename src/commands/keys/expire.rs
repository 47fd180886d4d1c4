//! The TTL commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX,
//! GT, LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST, as Redis 7.0's
//! expire.c. Times are absolute Unix ms inside; a time not after `now_ms`
//! deletes the key at once, as Redis's `checkAlreadyExpired`.

use super::super::args::parse_i64;
use super::super::{Args, CommandError, CommandResult, Ctx};
use crate::resp::Reply;

/// The condition options of the EXPIRE family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ExpireCondition {
    /// NX: only if the key has no TTL.
    no_ttl: bool,
    /// XX: only if the key has a TTL.
    has_ttl: bool,
    /// GT: only if the new time is later than the current one.
    greater: bool,
    /// LT: only if the new time is earlier than the current one.
    less: bool,
}

/// Parses NX/XX/GT/LT as Redis's `parseExtendedExpireArgumentsOrReply`.
fn parse_condition(args: &mut Args) -> Result<ExpireCondition, CommandError> {
    let mut condition = ExpireCondition::default();
    while let Some(option) = args.peek().cloned() {
        args.next_bytes()?;
        match option.to_ascii_lowercase().as_slice() {
            b"nx" => condition.no_ttl = true,
            b"xx" => condition.has_ttl = true,
            b"gt" => condition.greater = true,
            b"lt" => condition.less = true,
            _ => {
                // Redis prints the option as a C string: up to its first NUL.
                let end = option.iter().position(|&b| b == 0).unwrap_or(option.len());
                let text = String::from_utf8_lossy(&option[..end]);
                return Err(CommandError::Message(format!(
                    "ERR Unsupported option {text}"
                )));
            }
        }
    }
    if condition.no_ttl && (condition.has_ttl || condition.greater || condition.less) {
        return Err(CommandError::Static(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if condition.greater && condition.less {
        return Err(CommandError::Static(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(condition)
}

impl ExpireCondition {
    /// Whether a key whose TTL is `current_ms` (None: none) may get `when_ms`.
    fn allows(&self, current_ms: Option<i64>, when_ms: i64) -> bool {
        match current_ms {
            None => !(self.has_ttl || self.greater),
            Some(current) => {
                !(self.no_ttl
                    || self.greater && when_ms <= current
                    || self.less && when_ms >= current)
            }
        }
    }
}

/// `EXPIRE key seconds [NX|XX|GT|LT]` — 1 if the TTL was set (or the key
/// deleted because the time is not in the future), 0 otherwise.
pub(super) fn expire(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let now_ms = ctx.now_ms;
    expire_generic(ctx, args, now_ms, 1000, "expire")
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]` — as EXPIRE.
pub(super) fn pexpire(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let now_ms = ctx.now_ms;
    expire_generic(ctx, args, now_ms, 1, "pexpire")
}

/// `EXPIREAT key unix-seconds [NX|XX|GT|LT]` — as EXPIRE.
pub(super) fn expireat(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    expire_generic(ctx, args, 0, 1000, "expireat")
}

/// `PEXPIREAT key unix-milliseconds [NX|XX|GT|LT]` — as EXPIRE.
pub(super) fn pexpireat(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    expire_generic(ctx, args, 0, 1, "pexpireat")
}

/// Redis's `expireGenericCommand`: the time is `basetime_ms + amount *
/// unit_ms`; options are checked first, then the number, then overflow.
fn expire_generic(
    ctx: &mut Ctx<'_>,
    args: &mut Args,
    basetime_ms: u64,
    unit_ms: i64,
    command: &'static str,
) -> CommandResult {
    let key = args.next_bytes()?;
    let amount = args.next_bytes()?;
    let condition = parse_condition(args)?;
    let invalid = CommandError::InvalidExpireTime(command);
    let when_ms = parse_i64(&amount)?
        .checked_mul(unit_ms)
        .ok_or(invalid.clone())?
        .checked_add(basetime_ms as i64)
        .ok_or(invalid)?;
    let now_ms = ctx.now_ms;
    let loading = ctx.loading;
    let db = ctx.db();
    let Some(entry) = db.get(&key, now_ms) else {
        return Ok(Reply::Integer(0));
    };
    let current_ms = entry.expire_at_ms().map(|ms| ms as i64);
    if !condition.allows(current_ms, when_ms) {
        return Ok(Reply::Integer(0));
    }
    if when_ms <= now_ms as i64 && !loading {
        db.remove(&key, now_ms);
    } else {
        db.set_expiry(&key, Some(when_ms as u64), now_ms);
    }
    Ok(Reply::Integer(1))
}

/// What a TTL-reading command reports.
#[derive(Clone, Copy)]
enum TtlReport {
    /// Remaining time (TTL, PTTL).
    Remaining,
    /// Absolute Unix time (EXPIRETIME, PEXPIRETIME).
    Absolute,
}

/// `TTL key` — remaining seconds (rounded), -1 without TTL, -2 if missing.
pub(super) fn ttl(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    report_ttl(ctx, args, TtlReport::Remaining, 1000)
}

/// `PTTL key` — remaining milliseconds, -1 without TTL, -2 if missing.
pub(super) fn pttl(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    report_ttl(ctx, args, TtlReport::Remaining, 1)
}

/// `EXPIRETIME key` — the expire time in Unix seconds (rounded), -1 without
/// TTL, -2 if missing.
pub(super) fn expiretime(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    report_ttl(ctx, args, TtlReport::Absolute, 1000)
}

/// `PEXPIRETIME key` — the expire time in Unix ms, -1 without TTL, -2 if missing.
pub(super) fn pexpiretime(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    report_ttl(ctx, args, TtlReport::Absolute, 1)
}

/// Redis's `ttlGenericCommand`; seconds are rounded to nearest (`(ms + 500) / 1000`).
fn report_ttl(
    ctx: &mut Ctx<'_>,
    args: &mut Args,
    report: TtlReport,
    unit_ms: u64,
) -> CommandResult {
    let key = args.next_bytes()?;
    let now_ms = ctx.now_ms;
    let Some(entry) = ctx.db().get_for_read(&key, now_ms) else {
        return Ok(Reply::Integer(-2));
    };
    let Some(expire_at_ms) = entry.expire_at_ms() else {
        return Ok(Reply::Integer(-1));
    };
    let ms = match report {
        TtlReport::Remaining => expire_at_ms.saturating_sub(now_ms),
        TtlReport::Absolute => expire_at_ms,
    };
    let value = if unit_ms == 1 {
        ms
    } else {
        ms.saturating_add(unit_ms / 2) / unit_ms
    };
    Ok(Reply::Integer(i64::try_from(value).unwrap_or(i64::MAX)))
}

/// `PERSIST key` — 1 if a TTL was removed, 0 if the key has none or is missing.
pub(super) fn persist(ctx: &mut Ctx<'_>, args: &mut Args) -> CommandResult {
    let key = args.next_bytes()?;
    let now_ms = ctx.now_ms;
    let db = ctx.db();
    let had_ttl = db
        .get(&key, now_ms)
        .is_some_and(|entry| entry.expire_at_ms().is_some());
    if had_ttl {
        db.set_expiry(&key, None, now_ms);
    }
    Ok(Reply::Integer(i64::from(had_ttl)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn condition(words: &[&str]) -> Result<ExpireCondition, CommandError> {
        let mut argv = vec![Bytes::from_static(b"expire")];
        argv.extend(words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())));
        parse_condition(&mut Args::new(argv))
    }

    #[test]
    fn option_conflicts_use_redis_messages() {
        let nx_mix = "ERR NX and XX, GT or LT options at the same time are not compatible";
        for words in [&["nx", "xx"][..], &["NX", "gt"], &["lt", "nx"]] {
            assert_eq!(
                condition(words),
                Err(CommandError::Static(nx_mix)),
                "{words:?}"
            );
        }
        let gt_lt = "ERR GT and LT options at the same time are not compatible";
        assert_eq!(condition(&["gt", "lt"]), Err(CommandError::Static(gt_lt)));
        assert!(condition(&["nx", "nx"]).is_ok());
        assert!(condition(&["xx", "gt"]).is_ok());
        assert_eq!(
            condition(&["foo"]),
            Err(CommandError::Message("ERR Unsupported option foo".into()))
        );
    }

    #[test]
    fn conditions_treat_no_ttl_as_infinite() {
        let gt = condition(&["gt"]).unwrap();
        assert!(!gt.allows(None, 5));
        assert!(gt.allows(Some(4), 5));
        assert!(!gt.allows(Some(5), 5));
        let lt = condition(&["lt"]).unwrap();
        assert!(lt.allows(None, 5));
        assert!(!lt.allows(Some(5), 5));
        let xx = condition(&["xx"]).unwrap();
        assert!(!xx.allows(None, 5));
        assert!(condition(&["nx"]).unwrap().allows(None, 5));
    }
}
