//! Classic BPF as seccomp uses it: the checks Linux makes when a filter is loaded, and
//! an interpreter over `struct seccomp_data`.
//!
//! A program is checked once, when it is attached, and decoded into [`Op`]s whose
//! operands are already known to be in range; running one can then neither fail nor
//! loop (classic BPF only jumps forward, so at most `len` instructions execute).
//! Everything Linux refuses at load time is EINVAL here too: a length outside
//! 1..=4096, an opcode outside seccomp's subset, an absolute load outside or unaligned
//! within `struct seccomp_data`, a jump past the end, a division by a zero constant, a
//! shift by 32 or more, a scratch-memory slot read on some path before it is written,
//! and a last instruction that is not a return.

use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::errno::Result;
use crate::{bail, errno};

/// `struct sock_filter`: one classic BPF instruction as user space writes it.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
)]
#[repr(C)]
pub struct Instruction {
    /// Opcode: class, size/operation, mode/source.
    pub code: u16,
    /// Conditional jumps: how many instructions to skip when true.
    pub jt: u8,
    /// Conditional jumps: how many instructions to skip when false.
    pub jf: u8,
    /// The constant operand.
    pub k: u32,
}

impl Instruction {
    /// An instruction without jump offsets (BPF_STMT).
    pub const fn stmt(code: u16, k: u32) -> Instruction {
        Instruction {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A conditional jump (BPF_JUMP).
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Instruction {
        Instruction { code, jt, jf, k }
    }
}

/// Opcode bits (linux/bpf_common.h).
pub mod code {
    /// Load into A.
    pub const LD: u16 = 0x00;
    /// Load into X.
    pub const LDX: u16 = 0x01;
    /// Store A into scratch memory.
    pub const ST: u16 = 0x02;
    /// Store X into scratch memory.
    pub const STX: u16 = 0x03;
    /// Arithmetic on A.
    pub const ALU: u16 = 0x04;
    /// Jumps.
    pub const JMP: u16 = 0x05;
    /// Return.
    pub const RET: u16 = 0x06;
    /// Register transfers.
    pub const MISC: u16 = 0x07;
    /// 32-bit load.
    pub const W: u16 = 0x00;
    /// Immediate operand.
    pub const IMM: u16 = 0x00;
    /// Absolute offset into the data.
    pub const ABS: u16 = 0x20;
    /// Scratch memory.
    pub const MEM: u16 = 0x60;
    /// Length of the data.
    pub const LEN: u16 = 0x80;
    /// ALU operations.
    pub const ADD: u16 = 0x00;
    /// Subtract.
    pub const SUB: u16 = 0x10;
    /// Multiply.
    pub const MUL: u16 = 0x20;
    /// Divide.
    pub const DIV: u16 = 0x30;
    /// Or.
    pub const OR: u16 = 0x40;
    /// And.
    pub const AND: u16 = 0x50;
    /// Shift left.
    pub const LSH: u16 = 0x60;
    /// Shift right.
    pub const RSH: u16 = 0x70;
    /// Negate.
    pub const NEG: u16 = 0x80;
    /// Exclusive or.
    pub const XOR: u16 = 0xa0;
    /// Unconditional jump.
    pub const JA: u16 = 0x00;
    /// Jump if equal.
    pub const JEQ: u16 = 0x10;
    /// Jump if greater.
    pub const JGT: u16 = 0x20;
    /// Jump if greater or equal.
    pub const JGE: u16 = 0x30;
    /// Jump if any bit is set.
    pub const JSET: u16 = 0x40;
    /// The operand is the constant k.
    pub const K: u16 = 0x00;
    /// The operand is X.
    pub const X: u16 = 0x08;
    /// Return A.
    pub const A: u16 = 0x10;
    /// X = A.
    pub const TAX: u16 = 0x00;
    /// A = X.
    pub const TXA: u16 = 0x80;
}

/// The longest program Linux accepts (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;
/// Scratch memory words (BPF_MEMWORDS).
pub const MEMWORDS: usize = 16;
/// `sizeof(struct seccomp_data)`.
pub const DATA_LEN: u32 = 64;
/// AUDIT_ARCH_X86_64: `seccomp_data.arch` of every guest syscall.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// `struct seccomp_data`: what a filter sees of a system call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    /// The system call number.
    pub nr: i32,
    /// AUDIT_ARCH_*.
    pub arch: u32,
    /// The address after the syscall instruction.
    pub instruction_pointer: u64,
    /// The arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    /// The structure as the 16 native-endian 32-bit words an absolute load reads.
    pub fn words(&self) -> [u32; (DATA_LEN / 4) as usize] {
        let mut w = [0u32; 16];
        w[0] = self.nr as u32;
        w[1] = self.arch;
        w[2] = self.instruction_pointer as u32;
        w[3] = (self.instruction_pointer >> 32) as u32;
        for (i, a) in self.args.iter().enumerate() {
            w[4 + 2 * i] = *a as u32;
            w[5 + 2 * i] = (*a >> 32) as u32;
        }
        w
    }
}

/// An ALU operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Or,
    And,
    Lsh,
    Rsh,
    Xor,
}

/// A jump condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cond {
    Eq,
    Gt,
    Ge,
    Set,
}

/// The second operand of an ALU operation or comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    K(u32),
    X,
}

/// A checked instruction: every index in it is known to be in range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A = word `n` of seccomp_data (0..16).
    LdAbs(usize),
    LdImm(u32),
    LdxImm(u32),
    /// A = M[n] (0..16).
    LdMem(usize),
    LdxMem(usize),
    St(usize),
    Stx(usize),
    Alu(AluOp, Src),
    Neg,
    Tax,
    Txa,
    /// Skip this many instructions.
    Ja(usize),
    Jmp(Cond, Src, usize, usize),
    RetK(u32),
    RetA,
}

/// A program that passed the load-time checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    ops: Box<[Op]>,
}

impl Program {
    /// Checks `insns` as Linux does when a seccomp filter is loaded (EINVAL for
    /// anything it refuses).
    pub fn new(insns: &[Instruction]) -> Result<Program> {
        if insns.is_empty() || insns.len() > MAX_INSNS {
            bail!(EINVAL, "a filter of {} instructions", insns.len());
        }
        let len = insns.len();
        let ops = insns
            .iter()
            .enumerate()
            .map(|(pc, insn)| decode(insn, len - pc - 1))
            .collect::<Result<Box<[Op]>>>()?;
        if !matches!(ops.last(), Some(Op::RetK(_) | Op::RetA)) {
            bail!(EINVAL, "a filter must end with a return");
        }
        check_memory_reads(&ops)?;
        Ok(Program { ops })
    }

    /// How many instructions the program has.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether it has none (never true of a checked program).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Runs the program over `data` (as [`SeccompData::words`]); returns its value.
    /// A division by a zero X returns 0, as Linux's classic-BPF translation does.
    pub fn run(&self, data: &[u32; 16]) -> u32 {
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; MEMWORDS];
        let mut pc = 0usize;
        // Checked programs only jump forward and within bounds, and end in a return,
        // so this loop runs at most len times and always returns from inside; the
        // `get`s and the value after the loop only keep a broken invariant from
        // panicking.
        while let Some(op) = self.ops.get(pc) {
            pc += 1;
            match *op {
                Op::LdAbs(w) => a = data.get(w).copied().unwrap_or(0),
                Op::LdImm(k) => a = k,
                Op::LdxImm(k) => x = k,
                Op::LdMem(i) => a = mem.get(i).copied().unwrap_or(0),
                Op::LdxMem(i) => x = mem.get(i).copied().unwrap_or(0),
                Op::St(i) => {
                    if let Some(m) = mem.get_mut(i) {
                        *m = a;
                    }
                }
                Op::Stx(i) => {
                    if let Some(m) = mem.get_mut(i) {
                        *m = x;
                    }
                }
                Op::Alu(op, src) => {
                    let v = match src {
                        Src::K(k) => k,
                        Src::X => x,
                    };
                    a = match op {
                        AluOp::Add => a.wrapping_add(v),
                        AluOp::Sub => a.wrapping_sub(v),
                        AluOp::Mul => a.wrapping_mul(v),
                        AluOp::Div => match a.checked_div(v) {
                            Some(q) => q,
                            None => return 0,
                        },
                        AluOp::Or => a | v,
                        AluOp::And => a & v,
                        AluOp::Xor => a ^ v,
                        // A shift by X takes its low five bits, as Linux's BPF does.
                        AluOp::Lsh => a.wrapping_shl(v),
                        AluOp::Rsh => a.wrapping_shr(v),
                    };
                }
                Op::Neg => a = a.wrapping_neg(),
                Op::Tax => x = a,
                Op::Txa => a = x,
                Op::Ja(off) => pc = pc.saturating_add(off),
                Op::Jmp(cond, src, jt, jf) => {
                    let v = match src {
                        Src::K(k) => k,
                        Src::X => x,
                    };
                    let taken = match cond {
                        Cond::Eq => a == v,
                        Cond::Gt => a > v,
                        Cond::Ge => a >= v,
                        Cond::Set => a & v != 0,
                    };
                    pc = pc.saturating_add(if taken { jt } else { jf });
                }
                Op::RetK(k) => return k,
                Op::RetA => return a,
            }
        }
        0
    }
}

/// Decodes one instruction with `rest` instructions after it; EINVAL for anything a
/// seccomp filter may not contain.
fn decode(insn: &Instruction, rest: usize) -> Result<Op> {
    use code::*;
    let k = insn.k;
    let mem_slot = || -> Result<usize> {
        if (k as usize) < MEMWORDS {
            Ok(k as usize)
        } else {
            Err(errno!(EINVAL, "scratch memory slot {k}"))
        }
    };
    let jump = |off: usize| -> Result<usize> {
        if off < rest {
            Ok(off)
        } else {
            Err(errno!(EINVAL, "a jump of {off} past the end"))
        }
    };
    let alu = |op: AluOp, src: u16| -> Result<Op> {
        let src = if src == X { Src::X } else { Src::K(k) };
        match (op, src) {
            (AluOp::Div, Src::K(0)) => bail!(EINVAL, "division by zero"),
            (AluOp::Lsh | AluOp::Rsh, Src::K(32..)) => bail!(EINVAL, "shift by {k}"),
            _ => Ok(Op::Alu(op, src)),
        }
    };
    let cond = |c: Cond, src: u16| -> Result<Op> {
        let src = if src == X { Src::X } else { Src::K(k) };
        Ok(Op::Jmp(
            c,
            src,
            jump(usize::from(insn.jt))?,
            jump(usize::from(insn.jf))?,
        ))
    };
    const LD_W_ABS: u16 = LD | W | ABS;
    const LD_W_LEN: u16 = LD | W | LEN;
    const LDX_W_LEN: u16 = LDX | W | LEN;
    const LD_IMM: u16 = LD | IMM;
    const LDX_IMM: u16 = LDX | IMM;
    const LD_MEM: u16 = LD | MEM;
    const LDX_MEM: u16 = LDX | MEM;
    const RET_K: u16 = RET | K;
    const RET_A: u16 = RET | A;
    const TAX_: u16 = MISC | TAX;
    const TXA_: u16 = MISC | TXA;
    const NEG_: u16 = ALU | NEG;
    const JA_: u16 = JMP | JA;
    let op = match insn.code {
        LD_W_ABS => {
            if k >= DATA_LEN || !k.is_multiple_of(4) {
                bail!(EINVAL, "a load at offset {k} of seccomp_data");
            }
            Op::LdAbs((k / 4) as usize)
        }
        // The length of seccomp_data is a constant.
        LD_W_LEN => Op::LdImm(DATA_LEN),
        LDX_W_LEN => Op::LdxImm(DATA_LEN),
        LD_IMM => Op::LdImm(k),
        LDX_IMM => Op::LdxImm(k),
        LD_MEM => Op::LdMem(mem_slot()?),
        LDX_MEM => Op::LdxMem(mem_slot()?),
        ST => Op::St(mem_slot()?),
        STX => Op::Stx(mem_slot()?),
        RET_K => Op::RetK(k),
        RET_A => Op::RetA,
        TAX_ => Op::Tax,
        TXA_ => Op::Txa,
        NEG_ => Op::Neg,
        JA_ => Op::Ja(jump(k as usize)?),
        c if c & 0xff07 == ALU => {
            let op = match c & 0xf0 {
                ADD => AluOp::Add,
                SUB => AluOp::Sub,
                MUL => AluOp::Mul,
                DIV => AluOp::Div,
                OR => AluOp::Or,
                AND => AluOp::And,
                LSH => AluOp::Lsh,
                RSH => AluOp::Rsh,
                XOR => AluOp::Xor,
                _ => bail!(EINVAL, "opcode {c:#x}"),
            };
            alu(op, c & X)?
        }
        c if c & 0xff07 == JMP => match c & 0xf0 {
            JEQ => cond(Cond::Eq, c & X)?,
            JGT => cond(Cond::Gt, c & X)?,
            JGE => cond(Cond::Ge, c & X)?,
            JSET => cond(Cond::Set, c & X)?,
            _ => bail!(EINVAL, "opcode {c:#x}"),
        },
        c => bail!(EINVAL, "opcode {c:#x}"),
    };
    Ok(op)
}

/// Refuses a program that may read a scratch-memory slot on some path before any
/// write to it on that path. One forward pass suffices: a slot is known written at an
/// instruction if it is written on the fall-through path and on every jump into it.
fn check_memory_reads(ops: &[Op]) -> Result<()> {
    const ALL: u16 = u16::MAX;
    let mut known_at = vec![ALL; ops.len()];
    let mut written: u16 = 0;
    for (pc, op) in ops.iter().enumerate() {
        written &= known_at[pc];
        let mut join = |off: usize, w: u16| {
            if let Some(m) = known_at.get_mut(pc + 1 + off) {
                *m &= w;
            }
        };
        match *op {
            Op::St(i) | Op::Stx(i) => written |= 1 << i,
            Op::LdMem(i) | Op::LdxMem(i) if written & (1 << i) == 0 => {
                bail!(EINVAL, "scratch memory slot {i} read before it is written");
            }
            Op::Ja(off) => {
                join(off, written);
                // Nothing falls through: what follows is reached only by jumps.
                written = ALL;
            }
            Op::Jmp(_, _, jt, jf) => {
                join(jt, written);
                join(jf, written);
                written = ALL;
            }
            Op::RetK(_) | Op::RetA => written = ALL,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::code::*;
    use super::*;

    const ALLOW: u32 = 0x7fff_0000;
    const ERRNO: u32 = 0x0005_0000;

    fn data(nr: i32, args: [u64; 6]) -> [u32; 16] {
        SeccompData {
            nr,
            arch: AUDIT_ARCH_X86_64,
            instruction_pointer: 0x1234_5678_9abc,
            args,
        }
        .words()
    }

    fn einval(insns: &[Instruction]) -> bool {
        Program::new(insns).is_err_and(|e| e.code() == libc::EINVAL)
    }

    /// errno(EPERM) for getpid (39), allow everything else.
    fn deny_getpid() -> Vec<Instruction> {
        vec![
            Instruction::stmt(LD | W | ABS, 0),
            Instruction::jump(JMP | JEQ | K, 39, 0, 1),
            Instruction::stmt(RET | K, ERRNO | 1),
            Instruction::stmt(RET | K, ALLOW),
        ]
    }

    #[test]
    fn a_syscall_number_filter_matches_only_that_number() {
        let p = Program::new(&deny_getpid()).unwrap();
        assert_eq!(p.run(&data(39, [0; 6])), ERRNO | 1);
        assert_eq!(p.run(&data(40, [0; 6])), ALLOW);
    }

    #[test]
    fn loads_see_arch_instruction_pointer_and_both_halves_of_arguments() {
        let ret_word = |off: u32| {
            Program::new(&[
                Instruction::stmt(LD | W | ABS, off),
                Instruction::stmt(RET | A, 0),
            ])
            .unwrap()
        };
        let d = data(7, [1, 2, 3, 4, 5, 0xdead_beef_0000_0006]);
        assert_eq!(ret_word(4).run(&d), AUDIT_ARCH_X86_64);
        assert_eq!(ret_word(8).run(&d), 0x5678_9abc);
        assert_eq!(ret_word(12).run(&d), 0x1234);
        assert_eq!(ret_word(16).run(&d), 1);
        assert_eq!(ret_word(56).run(&d), 6);
        assert_eq!(ret_word(60).run(&d), 0xdead_beef);
    }

    #[test]
    fn alu_scratch_memory_and_register_moves_compute_like_bpf() {
        let p = Program::new(&[
            Instruction::stmt(LD | IMM, 6),
            Instruction::stmt(ST, 3),
            Instruction::stmt(ALU | MUL | K, 7), // 42
            Instruction::stmt(MISC | TAX, 0),
            Instruction::stmt(LD | MEM, 3),         // 6
            Instruction::stmt(ALU | ADD | X, 0),    // 48
            Instruction::stmt(ALU | LSH | K, 1),    // 96
            Instruction::stmt(ALU | DIV | K, 5),    // 19
            Instruction::stmt(ALU | XOR | K, 3),    // 16
            Instruction::stmt(ALU | NEG, 0),        // -16
            Instruction::stmt(ALU | AND | K, 0xff), // 0xf0
            Instruction::stmt(RET | A, 0),
        ])
        .unwrap();
        assert_eq!(p.run(&data(0, [0; 6])), 0xf0);
    }

    #[test]
    fn division_by_a_zero_x_returns_zero() {
        let p = Program::new(&[
            Instruction::stmt(LD | IMM, 5),
            Instruction::stmt(LDX | IMM, 0),
            Instruction::stmt(ALU | DIV | X, 0),
            Instruction::stmt(RET | K, ALLOW),
        ])
        .unwrap();
        assert_eq!(p.run(&data(0, [0; 6])), 0);
    }

    #[test]
    fn jumps_skip_forward_and_jset_tests_bits() {
        let p = Program::new(&[
            Instruction::stmt(LD | W | ABS, 16),
            Instruction::jump(JMP | JSET | K, 0x4, 0, 2),
            Instruction::stmt(JMP | JA, 2),
            Instruction::stmt(RET | K, 1),
            Instruction::stmt(RET | K, 2),
            Instruction::stmt(RET | K, 3),
        ])
        .unwrap();
        assert_eq!(p.run(&data(0, [4, 0, 0, 0, 0, 0])), 3);
        assert_eq!(p.run(&data(0, [3, 0, 0, 0, 0, 0])), 2);
    }

    #[test]
    fn empty_and_overlong_programs_are_einval() {
        assert!(einval(&[]));
        let mut long = vec![Instruction::stmt(LD | IMM, 0); MAX_INSNS];
        long.push(Instruction::stmt(RET | K, ALLOW));
        assert!(einval(&long));
        long.remove(0);
        assert!(Program::new(&long).is_ok());
    }

    #[test]
    fn a_program_must_end_with_a_return() {
        assert!(einval(&[Instruction::stmt(LD | IMM, 0)]));
        assert!(einval(&[
            Instruction::stmt(RET | K, ALLOW),
            Instruction::stmt(LD | IMM, 0),
        ]));
    }

    #[test]
    fn loads_outside_or_unaligned_in_seccomp_data_are_einval() {
        for off in [2, 5, 64, 68, 0xffff_f000] {
            assert!(
                einval(&[
                    Instruction::stmt(LD | W | ABS, off),
                    Instruction::stmt(RET | A, 0)
                ]),
                "offset {off}"
            );
        }
    }

    #[test]
    fn opcodes_outside_seccomps_subset_are_einval() {
        // Half-word, byte and indirect loads, MOD, RET X, LDX MSH, a high opcode byte.
        for code in [
            LD | 0x08 | ABS,
            LD | 0x10 | ABS,
            LD | W | 0x40,
            ALU | 0x90 | K,
            RET | X,
            LDX | 0x10 | 0xa0,
            0x100 | RET,
            ALU | NEG | X,
        ] {
            assert!(
                einval(&[Instruction::stmt(code, 0), Instruction::stmt(RET | K, 0)]),
                "code {code:#x}"
            );
        }
    }

    #[test]
    fn jumps_out_of_range_are_einval() {
        assert!(einval(&[
            Instruction::stmt(JMP | JA, 1),
            Instruction::stmt(RET | K, 0),
        ]));
        assert!(einval(&[
            Instruction::jump(JMP | JEQ | K, 0, 1, 0),
            Instruction::stmt(RET | K, 0),
        ]));
        // "Backward" jumps are huge forward ones.
        assert!(einval(&[
            Instruction::stmt(RET | K, 0),
            Instruction::stmt(JMP | JA, u32::MAX),
            Instruction::stmt(RET | K, 0),
        ]));
    }

    #[test]
    fn constant_division_by_zero_and_wide_shifts_are_einval() {
        for insn in [
            Instruction::stmt(ALU | DIV | K, 0),
            Instruction::stmt(ALU | LSH | K, 32),
            Instruction::stmt(ALU | RSH | K, 40),
            Instruction::stmt(ST, 16),
        ] {
            assert!(einval(&[insn, Instruction::stmt(RET | K, 0)]), "{insn:?}");
        }
    }

    #[test]
    fn scratch_memory_must_be_written_on_every_path_before_a_read() {
        assert!(einval(&[
            Instruction::stmt(LD | MEM, 0),
            Instruction::stmt(RET | A, 0),
        ]));
        // Written only when the jump is not taken.
        assert!(einval(&[
            Instruction::jump(JMP | JEQ | K, 0, 1, 0),
            Instruction::stmt(ST, 2),
            Instruction::stmt(LDX | MEM, 2),
            Instruction::stmt(RET | A, 0),
        ]));
        // Written on both paths.
        assert!(Program::new(&[
            Instruction::stmt(ST, 2),
            Instruction::jump(JMP | JEQ | K, 0, 1, 0),
            Instruction::stmt(ST, 2),
            Instruction::stmt(LDX | MEM, 2),
            Instruction::stmt(RET | A, 0),
        ])
        .is_ok());
    }

    /// A small deterministic generator (xorshift64*), so the test needs no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn random_programs_never_panic_at_load_or_run_time() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Opcodes seccomp allows, so that a good share of programs load and run.
        let codes = [
            LD | W | ABS,
            LD | W | LEN,
            LDX | W | LEN,
            LD | IMM,
            LDX | IMM,
            LD | MEM,
            LDX | MEM,
            ST,
            STX,
            ALU | ADD | K,
            ALU | SUB | X,
            ALU | MUL | X,
            ALU | DIV | K,
            ALU | DIV | X,
            ALU | LSH | X,
            ALU | RSH | K,
            ALU | NEG,
            MISC | TAX,
            MISC | TXA,
            JMP | JA,
            JMP | JEQ | K,
            JMP | JGT | X,
            JMP | JGE | K,
            JMP | JSET | X,
            RET | K,
            RET | A,
        ];
        let mut loaded = 0;
        for _ in 0..20_000 {
            let len = (rng.next() % 24) as usize + 1;
            let insns: Vec<Instruction> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    let code = if r.is_multiple_of(8) {
                        (r >> 8) as u16
                    } else {
                        codes[(r >> 8) as usize % codes.len()]
                    };
                    let k = match rng.next() % 3 {
                        0 => (rng.next() % 64) as u32,
                        1 => (rng.next() % 4) as u32,
                        _ => rng.next() as u32,
                    };
                    Instruction::jump(code, k, (rng.next() % 6) as u8, (rng.next() % 6) as u8)
                })
                .collect();
            if let Ok(p) = Program::new(&insns) {
                loaded += 1;
                let args = [rng.next(), rng.next(), 0, 1, u64::MAX, 7];
                p.run(&data(rng.next() as i32, args));
            }
        }
        assert!(loaded > 100, "only {loaded} random programs loaded");
    }
}
