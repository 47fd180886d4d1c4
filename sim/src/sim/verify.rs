//! The checks made as the run goes: every traced execution against the
//! client model (program order, real time, database) and the serial model
//! (P2), and every reply a client reads against what its command's
//! executions say it must be (P1).

use corekv::resp::Reply;

use super::{crash, Sim};
use crate::check::{expected_reply, show_expected, ExpectedReply, Property};
use crate::trace::{show_argv, show_reply};
use crate::workload::Expect;
use crate::world::Execution;

impl Sim {
    /// P1: the reply read next on a connection answers the command sent next.
    pub(super) fn check_reply(&mut self, index: usize, bytes: &[u8], reply: Reply) {
        self.stats.replies += 1;
        let seq = self.connections[index].next_reply;
        let closes_block = self.connections[index]
            .sent
            .get(seq)
            .is_some_and(|c| matches!(c.expect, Expect::Exec { .. } | Expect::Discard));
        let mut exec_expected = None;
        if closes_block {
            match self.expected_exec(index, seq, &reply) {
                Some(expected) => exec_expected = Some(expected),
                None => return, // a P3 WATCH failure, reported
            }
        }
        let connection = &self.connections[index];
        let id = connection.id;
        self.line(|| format!("reply   conn {id} #{seq}: {}", show_reply(&reply)));
        let Some(command) = connection.sent.get(seq) else {
            let message = format!(
                "conn {id} received {} after all {} commands sent were answered",
                show_reply(&reply),
                connection.sent.len()
            );
            return self.fail(Property::ReplyOrder, message);
        };
        let expected = match &command.expect {
            Expect::Queued(_) => Ok(ExpectedReply::Exact(Reply::simple("QUEUED"))),
            Expect::Exec { .. } | Expect::Discard => exec_expected.expect("computed above"),
            // An atomic operation refused whole for a disk error.
            Expect::Trace if command.executions.is_empty() && crash::is_refused(&reply) => {
                let allowed = self.may_refuse(&[&command.argv]);
                self.stats.refused_whole += u64::from(allowed.is_ok());
                allowed
                    .map(|()| ExpectedReply::Exact(reply.clone()))
                    .map_err(|why| format!("it was refused, but {why}"))
            }
            Expect::Trace if command.executions.is_empty() => {
                Err("it has not executed anywhere".to_string())
            }
            Expect::Trace => match self.table.lookup(&command.argv[0]) {
                Some(spec) => expected_reply(spec, &self.slots, &command.argv, &command.executions),
                None => Err("the command is unknown".to_string()),
            },
            _ if !command.executions.is_empty() => {
                Err("it ran a keyspace handler, which it should not".to_string())
            }
            Expect::Exact(reply) => Ok(ExpectedReply::Exact(reply.clone())),
            Expect::Error if reply.is_error() => Ok(ExpectedReply::Exact(reply.clone())),
            Expect::Error => Err("an error was expected".to_string()),
            Expect::Success if !reply.is_error() => Ok(ExpectedReply::Exact(reply.clone())),
            Expect::Success => Err("success was expected".to_string()),
            Expect::Any => Ok(ExpectedReply::Exact(reply.clone())),
        };
        let verdict = expected.and_then(|expected| {
            let protocol = command.protocol;
            let success = command.expect == Expect::Success;
            let mut encodes = |r: &Reply| {
                if success {
                    return true; // HELLO's reply is in the protocol it selects
                }
                self.encoded.clear();
                r.encode(protocol, &mut self.encoded);
                self.encoded[..] == *bytes
            };
            let matches = match &expected {
                ExpectedReply::Exact(r) => encodes(r),
                ExpectedReply::OneOf(rs) => rs.iter().any(encodes),
            };
            if matches {
                Ok(())
            } else {
                Err(format!("expected {}", show_expected(&expected)))
            }
        });
        if let Err(why) = verdict {
            let message = format!(
                "conn {id} reply #{seq} is {} but command #{seq} is {}: {why}",
                show_reply(&reply),
                show_argv(&command.argv)
            );
            return self.fail(Property::ReplyOrder, message);
        }
        let is_scan = command.argv[0].eq_ignore_ascii_case(b"scan")
            && !matches!(command.expect, Expect::Queued(_));
        let is_watch = command.watch;
        let now_us = self.now_us();
        let connection = &mut self.connections[index];
        connection.sent[seq].replied = true;
        connection.sent[seq].replied_at_us = Some(now_us);
        connection.next_reply += 1;
        if is_watch {
            self.watches_served(index, seq);
        }
        let connection = &mut self.connections[index];
        if is_scan {
            if let Reply::Array(parts) = &reply {
                if let Some(Reply::Bulk(cursor)) = parts.first() {
                    self.clients[connection.client].scan_cursor = cursor.clone();
                }
            }
        }
    }

    /// Checks one traced execution against the client model and replays it
    /// on the serial model (P2).
    pub(super) fn on_execution(&mut self, execution: Execution) {
        self.stats.executions += 1;
        {
            let mut world = self.world.borrow_mut();
            let hash = &mut world.recorder.hash;
            hash.word(execution.shard as u64);
            hash.word(execution.origin.conn);
            hash.word(execution.origin.seq);
            hash.word(execution.db as u64);
            hash.argv(&execution.argv);
            hash.reply(&execution.reply);
        }
        let Execution {
            shard, origin, db, ..
        } = execution;
        let Some(&index) = self.by_conn_id.get(&origin.conn) else {
            let message = format!(
                "shard {shard} executed a command of unknown conn {}",
                origin.conn
            );
            return self.fail(Property::ProgramOrder, message);
        };
        let connection = &mut self.connections[index];
        let Some(command) = connection.sent.get(origin.seq as usize) else {
            let message = format!(
                "shard {shard} executed #{} of conn {}, which sent only {} commands",
                origin.seq,
                origin.conn,
                connection.sent.len()
            );
            return self.fail(Property::ProgramOrder, message);
        };
        // Built only for a failure message.
        let what = || {
            format!(
                "#{} {} of conn {}",
                origin.seq,
                show_argv(&command.argv),
                origin.conn
            )
        };
        // A queued command runs at EXEC: after EXEC was sent, before its reply.
        let closing = command.exec_seq.map(|e| &connection.sent[e]);
        let written = closing.map_or(command.written_at_us, |c| c.written_at_us);
        let replied = closing.map_or(command.replied, |c| c.replied);
        let traced = match &command.expect {
            Expect::Trace => true,
            Expect::Queued(inner) => **inner == Expect::Trace,
            _ => false,
        };
        let problem = if written.is_none() {
            Some((
                Property::RealTime,
                format!(
                    "shard {shard} executed {} before it was completely sent",
                    what()
                ),
            ))
        } else if replied {
            Some((
                Property::RealTime,
                format!("shard {shard} executed {} after its reply was read", what()),
            ))
        } else if let Some(last) = connection.last_executed.filter(|last| origin.seq < *last) {
            Some((
                Property::ProgramOrder,
                format!(
                    "shard {shard} executed {} after #{last} of the same connection",
                    what()
                ),
            ))
        } else if db != command.db {
            Some((
                Property::SerialEquivalence,
                format!(
                    "shard {shard} executed {} in db {db}, but the connection had selected db {}",
                    what(),
                    command.db
                ),
            ))
        } else if !traced || !execution.argv[0].eq_ignore_ascii_case(&command.argv[0]) {
            Some((
                Property::SerialEquivalence,
                format!(
                    "shard {shard} executed {} for {}",
                    show_argv(&execution.argv),
                    what()
                ),
            ))
        } else {
            None
        };
        if let Some((property, message)) = problem {
            return self.fail(property, message);
        }
        connection.last_executed = Some(origin.seq);
        if let Err((property, message)) = self.replay_in_units(index, execution) {
            self.fail(property, message);
        }
    }
}
