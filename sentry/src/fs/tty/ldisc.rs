//! The line discipline of a pseudo-terminal (Linux's n_tty): what the master writes
//! becomes the replica's input — translated, edited a line at a time in canonical
//! mode, echoed, turned into signals — and what the replica writes becomes the
//! master's input after output processing.
//!
//! This is a state machine with no waiting of its own: the pty calls it under its lock
//! and wakes readers and writers afterwards.

use std::collections::VecDeque;

use crate::abi::{Termios, Winsize};

/// Bytes the replica's input holds, edited line included (Linux's N_TTY_BUF_SIZE).
pub const INPUT_MAX: usize = 4096;
/// Bytes written to the master that wait for room in the replica's input.
const PENDING_MAX: usize = 65536;
/// Bytes of replica output the master has not read yet, before replica writes wait.
pub const OUTPUT_MAX: usize = 65536;

fn cc(t: &Termios, i: usize) -> u8 {
    t.c_cc[i]
}

fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

/// The termios a new replica starts with (Linux's tty_std_termios, as unix98 ptys
/// adjust it).
pub fn replica_termios() -> Termios {
    let mut c_cc = [0u8; 19];
    c_cc.copy_from_slice(
        b"\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f\x17\x16\x00\x00\x00",
    );
    Termios {
        c_iflag: libc::ICRNL | libc::IXON,
        c_oflag: libc::OPOST | libc::ONLCR,
        c_cflag: libc::B38400 | libc::CS8 | libc::CREAD,
        c_lflag: libc::ISIG
            | libc::ICANON
            | libc::ECHO
            | libc::ECHOE
            | libc::ECHOK
            | libc::ECHOCTL
            | libc::ECHOKE
            | libc::IEXTEN,
        c_line: 0,
        c_cc,
    }
}

/// The termios a new master starts with: raw.
pub fn master_termios() -> Termios {
    Termios {
        c_iflag: 0,
        c_oflag: 0,
        c_lflag: 0,
        ..replica_termios()
    }
}

/// What the discipline asks of its caller after taking input.
#[derive(Default)]
pub struct Effects {
    /// Signals for the terminal's foreground process group, in order.
    pub signals: Vec<i32>,
}

/// The line discipline's state.
pub struct LineDiscipline {
    /// The replica's termios.
    pub termios: Termios,
    /// The master's termios (kept and reported; the master side is always raw).
    pub master_termios: Termios,
    /// The window size.
    pub winsize: Winsize,
    /// Written by the master, not yet taken into the input.
    pending: VecDeque<u8>,
    /// Input the replica can read.
    readable: VecDeque<u8>,
    /// Canonical mode: the lengths of the complete lines in `readable`, and whether
    /// each ended with VEOF (which is not stored).
    lines: VecDeque<(usize, bool)>,
    /// Canonical mode: the line being edited.
    edit: Vec<u8>,
    /// Replica output (and echoes) the master has not read.
    output: VecDeque<u8>,
    /// Output column, for tabs and ONOCR.
    column: usize,
    /// Output stopped by VSTOP (IXON) or TCOOFF.
    pub stopped: bool,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        LineDiscipline {
            termios: replica_termios(),
            master_termios: master_termios(),
            winsize: Winsize::default(),
            pending: VecDeque::new(),
            readable: VecDeque::new(),
            lines: VecDeque::new(),
            edit: Vec::new(),
            output: VecDeque::new(),
            column: 0,
            stopped: false,
        }
    }
}

impl LineDiscipline {
    fn lflag(&self, f: u32) -> bool {
        self.termios.c_lflag & f != 0
    }

    fn iflag(&self, f: u32) -> bool {
        self.termios.c_iflag & f != 0
    }

    fn oflag(&self, f: u32) -> bool {
        self.termios.c_oflag & f != 0
    }

    /// Whether the replica is in canonical mode.
    pub fn canonical(&self) -> bool {
        self.lflag(libc::ICANON)
    }

    /// VMIN and VTIME.
    pub fn min_time(&self) -> (u8, u8) {
        (
            cc(&self.termios, libc::VMIN),
            cc(&self.termios, libc::VTIME),
        )
    }

    /// Sets the replica's termios (TCSETS), as n_tty does when ICANON changes: going
    /// raw makes the edited line readable; going canonical makes what is readable one
    /// complete line.
    pub fn set_termios(&mut self, t: Termios) {
        let was = self.canonical();
        self.termios = t;
        let now = self.canonical();
        if was && !now {
            self.readable.extend(self.edit.drain(..));
            self.lines.clear();
        } else if !was && now {
            self.lines.clear();
            if !self.readable.is_empty() {
                self.lines.push_back((self.readable.len(), false));
            }
        }
        if !self.iflag(libc::IXON) {
            self.stopped = false;
        }
    }

    /// Bytes a read can take now (FIONREAD on the replica): complete lines in
    /// canonical mode.
    pub fn input_available(&self) -> usize {
        if self.canonical() {
            self.lines.iter().map(|(n, _)| n).sum()
        } else {
            self.readable.len()
        }
    }

    /// Whether a replica read would return now (data, or an end-of-file line).
    pub fn input_ready(&self) -> bool {
        if self.canonical() {
            !self.lines.is_empty()
        } else {
            !self.readable.is_empty()
        }
    }

    /// Raw-mode bytes readable (for VMIN).
    pub fn raw_len(&self) -> usize {
        self.readable.len()
    }

    /// A replica read of up to `max` bytes of what is ready: one line at most in
    /// canonical mode (an end-of-file line gives nothing).
    pub fn read_input(&mut self, max: usize) -> Vec<u8> {
        let n = if self.canonical() {
            let Some(front) = self.lines.front_mut() else {
                return Vec::new();
            };
            let n = front.0.min(max);
            front.0 -= n;
            if front.0 == 0 {
                self.lines.pop_front();
            }
            n
        } else {
            self.readable.len().min(max)
        };
        self.readable.drain(..n).collect()
    }

    /// Discards the replica's input (TCIFLUSH, signals without NOFLSH).
    pub fn flush_input(&mut self) {
        self.pending.clear();
        self.readable.clear();
        self.lines.clear();
        self.edit.clear();
    }

    /// Discards output the master has not read (TCOFLUSH).
    pub fn flush_output(&mut self) {
        self.output.clear();
    }

    /// Bytes waiting for the master (FIONREAD on the master).
    pub fn output_len(&self) -> usize {
        self.output.len()
    }

    /// Whether the master has room to write more.
    pub fn pending_room(&self) -> usize {
        PENDING_MAX.saturating_sub(self.pending.len())
    }

    /// A master read of up to `max` bytes.
    pub fn read_output(&mut self, max: usize) -> Vec<u8> {
        let n = self.output.len().min(max);
        self.output.drain(..n).collect()
    }

    /// Whether the replica may write now (room for the master, output not stopped).
    pub fn output_room(&self) -> bool {
        !self.stopped && self.output.len() < OUTPUT_MAX
    }

    /// A replica write: takes bytes of `buf` while the master has room; returns how
    /// many were taken.
    pub fn write_output(&mut self, buf: &[u8]) -> usize {
        let mut n = 0;
        for &c in buf {
            if !self.output_room() {
                break;
            }
            self.put_output(c);
            n += 1;
        }
        n
    }

    /// A master write: queues as much of `buf` as fits and runs the input through
    /// the discipline; returns how many bytes were taken.
    pub fn write_input(&mut self, buf: &[u8], fx: &mut Effects) -> usize {
        let n = buf.len().min(self.pending_room());
        self.pending.extend(&buf[..n]);
        self.process_pending(fx);
        n
    }

    /// Moves pending master bytes into the input while it has room (call again after
    /// a read frees some).
    pub fn process_pending(&mut self, fx: &mut Effects) {
        while let Some(&c) = self.pending.front() {
            let used = self.readable.len() + self.edit.len();
            // A full canonical input with no complete line takes bytes anyway (only a
            // line end can still be stored), as Linux does, so that it cannot wedge.
            let room = used < INPUT_MAX - 1 || (self.canonical() && self.lines.is_empty());
            if !room {
                break;
            }
            self.pending.pop_front();
            self.receive(c, fx);
        }
    }

    /// One input byte.
    fn receive(&mut self, mut c: u8, fx: &mut Effects) {
        let t = self.termios;
        if self.iflag(libc::ISTRIP) {
            c &= 0x7f;
        }
        if self.iflag(libc::IXON) {
            if c == cc(&t, libc::VSTOP) && c != 0 {
                self.stopped = true;
                return;
            }
            if c == cc(&t, libc::VSTART) && c != 0 {
                self.stopped = false;
                return;
            }
        }
        if self.lflag(libc::ISIG) && c != 0 {
            let sig = if c == cc(&t, libc::VINTR) {
                Some(libc::SIGINT)
            } else if c == cc(&t, libc::VQUIT) {
                Some(libc::SIGQUIT)
            } else if c == cc(&t, libc::VSUSP) {
                Some(libc::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                fx.signals.push(sig);
                // The input is flushed. Linux's flush of the output only reaches bytes
                // still in transit to the master, which it has already taken in all
                // but a race: what the master has not read stays.
                if !self.lflag(libc::NOFLSH) {
                    self.readable.clear();
                    self.lines.clear();
                    self.edit.clear();
                }
                self.echo_char(c);
                return;
            }
        }
        if c == b'\r' {
            if self.iflag(libc::IGNCR) {
                return;
            }
            if self.iflag(libc::ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.iflag(libc::INLCR) {
            c = b'\r';
        }
        if !self.canonical() {
            self.echo_char(c);
            self.readable.push_back(c);
            return;
        }
        let iexten = self.lflag(libc::IEXTEN);
        if c != 0 && c == cc(&t, libc::VERASE) {
            self.erase(Erase::Char, c);
        } else if c != 0 && c == cc(&t, libc::VKILL) {
            self.erase(Erase::Line, c);
        } else if iexten && c != 0 && c == cc(&t, libc::VWERASE) {
            self.erase(Erase::Word, c);
        } else if c == b'\n' {
            if self.lflag(libc::ECHO) || self.lflag(libc::ECHONL) {
                self.put_output(b'\n');
            }
            self.edit.push(b'\n');
            self.commit_line(false);
        } else if c != 0 && c == cc(&t, libc::VEOF) {
            self.commit_line(true);
        } else if c != 0 && (c == cc(&t, libc::VEOL) || (iexten && c == cc(&t, libc::VEOL2))) {
            self.echo_char(c);
            self.edit.push(c);
            self.commit_line(false);
        } else {
            if self.readable.len() + self.edit.len() >= INPUT_MAX - 1 {
                return;
            }
            self.echo_char(c);
            self.edit.push(c);
        }
    }

    fn commit_line(&mut self, eof: bool) {
        let n = self.edit.len();
        self.readable.extend(self.edit.drain(..));
        self.lines.push_back((n, eof));
    }

    /// Echoes an input byte (ECHO), control characters as `^X` with ECHOCTL.
    fn echo_char(&mut self, c: u8) {
        if !self.lflag(libc::ECHO) {
            return;
        }
        if self.lflag(libc::ECHOCTL) && is_cntrl(c) && c != b'\t' {
            self.output.push_back(b'^');
            self.output.push_back(c ^ 0o100);
            self.column += 2;
        } else {
            self.put_output(c);
        }
    }

    /// VERASE, VKILL and VWERASE on the edited line, with their echoes.
    fn erase(&mut self, kind: Erase, c: u8) {
        if self.edit.is_empty() {
            return;
        }
        let echo = self.lflag(libc::ECHO);
        if kind == Erase::Line
            && (!self.lflag(libc::ECHOK) || !self.lflag(libc::ECHOKE) || !self.lflag(libc::ECHOE))
        {
            self.edit.clear();
            if echo {
                self.echo_char(c);
                if self.lflag(libc::ECHOK) {
                    self.put_output(b'\n');
                }
            }
            return;
        }
        let mut seen_word = false;
        while let Some(&last) = self.edit.last() {
            if kind == Erase::Word {
                if last.is_ascii_alphanumeric() || last == b'_' {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            self.edit.pop();
            if echo {
                if kind == Erase::Char && !self.lflag(libc::ECHOE) {
                    self.echo_char(c);
                } else if !is_cntrl(last) || last == b'\t' || self.lflag(libc::ECHOCTL) {
                    let cols = if is_cntrl(last) && last != b'\t' {
                        2
                    } else {
                        1
                    };
                    for _ in 0..cols {
                        self.output.extend(b"\x08 \x08");
                        self.column = self.column.saturating_sub(1);
                    }
                }
            }
            if kind == Erase::Char {
                break;
            }
        }
    }

    /// Appends one byte of output for the master, with OPOST processing.
    fn put_output(&mut self, c: u8) {
        if !self.oflag(libc::OPOST) {
            self.output.push_back(c);
            return;
        }
        match c {
            b'\n' => {
                if self.oflag(libc::ONLRET) {
                    self.column = 0;
                }
                if self.oflag(libc::ONLCR) {
                    self.column = 0;
                    self.output.extend(b"\r\n");
                    return;
                }
            }
            b'\r' => {
                if self.oflag(libc::ONOCR) && self.column == 0 {
                    return;
                }
                if self.oflag(libc::OCRNL) {
                    if self.oflag(libc::ONLRET) {
                        self.column = 0;
                    }
                    self.output.push_back(b'\n');
                    return;
                }
                self.column = 0;
            }
            b'\t' => {
                let spaces = 8 - (self.column & 7);
                self.column += spaces;
                if self.termios.c_oflag & libc::TABDLY == libc::XTABS {
                    self.output.extend(std::iter::repeat_n(b' ', spaces));
                    return;
                }
            }
            0x08 => self.column = self.column.saturating_sub(1),
            _ if !is_cntrl(c) => {
                self.column += 1;
                if self.oflag(libc::OLCUC) {
                    self.output.push_back(c.to_ascii_uppercase());
                    return;
                }
            }
            _ => {}
        }
        self.output.push_back(c);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Erase {
    Char,
    Word,
    Line,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(ld: &mut LineDiscipline, s: &[u8]) -> Vec<i32> {
        let mut fx = Effects::default();
        ld.write_input(s, &mut fx);
        fx.signals
    }

    #[test]
    fn canonical_line_is_read_after_newline_with_echo() {
        let mut ld = LineDiscipline::default();
        typed(&mut ld, b"ab");
        assert!(!ld.input_ready());
        typed(&mut ld, b"c\r");
        assert_eq!(ld.read_input(100), b"abc\n");
        assert_eq!(ld.read_output(100), b"abc\r\n");
    }

    #[test]
    fn erase_and_kill_edit_the_line() {
        let mut ld = LineDiscipline::default();
        typed(&mut ld, b"abx\x7fc\n");
        assert_eq!(ld.read_input(100), b"abc\n");
        typed(&mut ld, b"junk\x15ok\n");
        assert_eq!(ld.read_input(100), b"ok\n");
        typed(&mut ld, b"one two\x17three\n");
        assert_eq!(ld.read_input(100), b"one three\n");
    }

    #[test]
    fn intr_flushes_input_and_echoes_caret() {
        let mut ld = LineDiscipline::default();
        assert_eq!(typed(&mut ld, b"xy\x03"), vec![libc::SIGINT]);
        assert!(!ld.input_ready());
        assert_eq!(ld.read_output(100), b"xy^C");
    }

    #[test]
    fn eof_gives_an_empty_read() {
        let mut ld = LineDiscipline::default();
        typed(&mut ld, b"\x04");
        assert!(ld.input_ready());
        assert_eq!(ld.read_input(100), b"");
        assert!(!ld.input_ready());
    }
}
