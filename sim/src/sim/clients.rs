//! The clients' side of the simulation: connecting and dropping
//! connections, writing pending bytes in seed-chosen chunks, generating
//! commands, reading output back at seed-chosen moments.

use corekv::resp::frame::parse_frame;
use rand::Rng;

use super::Sim;
use crate::check::Property;
use crate::client::Connection;
use crate::swarm::Chunking;
use crate::trace::show_bytes;
use crate::workload::{self, GenCtx};
use crate::world::EventKind;

impl Sim {
    pub(super) fn connect(&mut self, client: usize) -> usize {
        let home = self.next_home % self.shards.len();
        self.next_home += 1;
        let id = self.shards[home].handle_connect(format!("10.0.0.1:{}", 10_000 + client));
        let depth = self.network.gen_range(1..=self.swarm.pipeline_depth_max);
        let index = self.connections.len();
        self.connections
            .push(Connection::new(id, client, home, depth));
        if self.by_conn_id.insert(id, index).is_some() {
            self.fail(
                Property::ReplyOrder,
                format!("connection id {id} handed out twice"),
            );
        }
        self.clients[client].connection = Some(index);
        self.line(|| {
            format!("connect client {client} -> conn {id} on shard {home}, pipeline {depth}")
        });
        self.after_step(home);
        index
    }

    pub(super) fn disconnect(&mut self, index: usize) {
        let connection = &mut self.connections[index];
        connection.open = false;
        let (id, home, client) = (connection.id, connection.home, connection.client);
        if self.clients[client].connection == Some(index) {
            self.clients[client].connection = None;
        }
        self.line(|| format!("disconnect conn {id}"));
        // Its units in progress stay units: the engine must finish them
        // (see `txn`'s "All or nothing").
        self.drop_watches(index, usize::MAX);
        self.shards[home].handle_disconnect(id);
        self.after_step(home);
    }

    /// The disconnect fault: with the seed's probability, the client drops
    /// its connection while commands are in flight (and reconnects later if
    /// it has commands left). True if it did.
    pub(super) fn maybe_drop(&mut self, client: usize, index: usize) -> bool {
        let mid_pipeline = self.connections[index].in_flight() > 0;
        if !mid_pipeline
            || self.swarm.disconnect_probability == 0.0
            || !self.network.gen_bool(self.swarm.disconnect_probability)
        {
            return false;
        }
        self.stats.disconnects += 1;
        self.disconnect(index);
        if self.clients[client].budget > 0 {
            self.wake_writer(client);
        }
        true
    }

    pub(super) fn think_us(&mut self) -> u64 {
        if self.swarm.long_pause_probability > 0.0
            && self.network.gen_bool(self.swarm.long_pause_probability)
        {
            self.network.gen_range(0..=self.swarm.long_pause_us_max)
        } else {
            self.network.gen_range(0..=self.swarm.think_us_max)
        }
    }

    pub(super) fn wake_writer(&mut self, client: usize) {
        if !self.clients[client].write_scheduled {
            self.clients[client].write_scheduled = true;
            let delay_us = self.think_us();
            self.schedule(EventKind::ClientWrite(client), delay_us);
        }
    }

    /// True if `client` has anything to write now or later without waiting for a reply.
    pub(super) fn wants_to_write(&self, client: usize) -> bool {
        let state = &self.clients[client];
        match state.connection {
            None => state.budget > 0,
            Some(index) => {
                let connection = &self.connections[index];
                !connection.unwritten().is_empty()
                    || (connection.can_generate() && (state.budget > 0 || state.quit_at_end))
            }
        }
    }

    pub(super) fn client_write(&mut self, client: usize) {
        self.clients[client].write_scheduled = false;
        let index = match self.clients[client].connection {
            Some(index) => index,
            None if self.clients[client].budget > 0 => self.connect(client),
            None => return,
        };
        let (id, home) = (self.connections[index].id, self.connections[index].home);
        if self.maybe_drop(client, index) {
            return;
        }
        if self.connections[index].unwritten().is_empty() {
            self.generate(client, index);
        }
        let pending = self.connections[index].unwritten().len();
        if pending > 0 {
            if !self.shards[home].wants_input(id) {
                self.stats.backpressure_waits += 1;
                self.line(|| format!("conn {id} not read (backpressure)"));
                // Retry later, never at the same instant: what unblocks the
                // shard (this client reading its output, a reply arriving)
                // may be due later, and time must be able to get there.
                if !self.clients[client].write_scheduled {
                    self.clients[client].write_scheduled = true;
                    let delay_us = 1 + self.think_us().max(self.network.gen_range(0..100));
                    self.schedule(EventKind::ClientWrite(client), delay_us);
                }
                return;
            }
            let count = self.chunk_len(pending);
            let now_us = self.now_us();
            let connection = &mut self.connections[index];
            {
                let chunk = &connection.unwritten()[..count];
                let mut world = self.world.borrow_mut();
                world.recorder.hash.word(id);
                world.recorder.hash.bytes(chunk);
                world
                    .recorder
                    .line(|| format!("{now_us:>10} write   conn {id}: \"{}\"", show_bytes(chunk)));
            }
            self.shards[home].handle_input(id, &connection.unwritten()[..count]);
            let written = connection.wrote(count, now_us);
            self.on_written(index, written);
            self.after_step(home);
        }
        if self.wants_to_write(client) {
            self.wake_writer(client);
        }
    }

    pub(super) fn chunk_len(&mut self, pending: usize) -> usize {
        match self.swarm.chunking {
            Chunking::Whole => pending,
            Chunking::Random => self.network.gen_range(1..=pending),
            Chunking::Tiny if self.network.gen_bool(0.8) => {
                self.network.gen_range(1..=3).min(pending)
            }
            Chunking::Tiny => self.network.gen_range(1..=pending),
        }
    }

    /// Generates a burst of commands into the connection's pending bytes.
    pub(super) fn generate(&mut self, client: usize, index: usize) {
        let Sim {
            clients,
            connections,
            workload,
            keys,
            swarm,
            databases,
            stats,
            gather,
            txn_probability,
            rewrites,
            ..
        } = self;
        let state = &mut clients[client];
        let connection = &mut connections[index];
        if !connection.can_generate() {
            return;
        }
        let room = connection.pipeline_depth - connection.in_flight();
        let burst = state.rng.gen_range(1..=room);
        for _ in 0..burst {
            if state.budget == 0 {
                if state.quit_at_end && !connection.quit_sent {
                    connection.push(workload::quit());
                    stats.commands += 1;
                }
                break;
            }
            let mut ctx = GenCtx {
                rng: &mut state.rng,
                keys,
                swarm,
                databases: *databases,
                client,
                scan_cursor: &state.scan_cursor,
                gather: *gather,
                workload,
            };
            if *txn_probability > 0.0 && ctx.rng.gen_bool(*txn_probability) {
                let block = workload::txn::block(&mut ctx);
                state.budget = state.budget.saturating_sub(block.len() as u64);
                stats.commands += block.len() as u64;
                for generated in block {
                    connection.push(generated);
                }
                continue;
            }
            state.budget -= 1;
            if let Some((rng, probability)) = rewrites.as_mut() {
                // From its own stream: seeds that never rewrite keep their mix.
                if rng.gen_bool(*probability) {
                    connection.push(workload::background_job(rng));
                    stats.commands += 1;
                    continue;
                }
            }
            let generated = workload.generate(&mut ctx);
            connection.push(generated);
            stats.commands += 1;
        }
    }

    pub(super) fn client_read(&mut self, index: usize) {
        self.connections[index].read_scheduled = false;
        if !self.connections[index].open {
            return;
        }
        let (id, home, client) = {
            let c = &self.connections[index];
            (c.id, c.home, c.client)
        };
        let available = self.shards[home].output(id).len();
        if available > 0 {
            let count = if self.swarm.partial_read_probability > 0.0
                && self.network.gen_bool(self.swarm.partial_read_probability)
            {
                self.network.gen_range(1..=available)
            } else {
                available
            };
            let bytes = &self.shards[home].output(id)[..count];
            {
                let mut world = self.world.borrow_mut();
                world.recorder.hash.word(id);
                world.recorder.hash.bytes(bytes);
            }
            self.connections[index].input.extend_from_slice(bytes);
            self.shards[home].consume_output(id, count);
            self.parse_replies(index);
            self.after_step(home);
            if self.failure.is_some() {
                return;
            }
            if self.maybe_drop(client, index) {
                return;
            }
        }
        if self.shards[home].should_close(id) {
            if !self.connections[index].quit_sent {
                self.fail(
                    Property::ReplyOrder,
                    format!("the server closed conn {id}, which never sent QUIT"),
                );
            }
            self.disconnect(index);
            return;
        }
        if !self.shards[home].output(id).is_empty() {
            self.schedule_read(index);
        }
        if self.clients[client].connection == Some(index) && self.wants_to_write(client) {
            self.wake_writer(client);
        }
    }

    pub(super) fn schedule_read(&mut self, index: usize) {
        if !self.connections[index].read_scheduled {
            self.connections[index].read_scheduled = true;
            let delay_us = self.network.gen_range(0..=self.swarm.read_delay_us_max);
            self.schedule(EventKind::ClientRead(index), delay_us);
        }
    }

    /// Parses every complete reply in the connection's input and checks it.
    pub(super) fn parse_replies(&mut self, index: usize) {
        let input = std::mem::take(&mut self.connections[index].input);
        let mut consumed = 0;
        while self.failure.is_none() {
            match parse_frame(&input[consumed..]) {
                Ok(Some((reply, length))) => {
                    self.check_reply(index, &input[consumed..consumed + length], reply);
                    consumed += length;
                }
                Ok(None) => break,
                Err(error) => {
                    let id = self.connections[index].id;
                    self.fail(
                        Property::ReplyOrder,
                        format!("conn {id} received a malformed reply: {error}"),
                    );
                    break;
                }
            }
        }
        let connection = &mut self.connections[index];
        connection.input = input;
        connection.input.drain(..consumed);
    }
}
