package uapi

// Source-register values that give an instruction a meaning beyond its opcode.
// PseudoMapFD through PseudoMapIdxValue mark a load-imm64 (insn[0].src_reg);
// PseudoCall and PseudoKfuncCall mark a call.
const (
	PseudoMapFD       = 1 // BPF_PSEUDO_MAP_FD
	PseudoMapValue    = 2 // BPF_PSEUDO_MAP_VALUE
	PseudoBTFID       = 3 // BPF_PSEUDO_BTF_ID
	PseudoFunc        = 4 // BPF_PSEUDO_FUNC
	PseudoMapIdx      = 5 // BPF_PSEUDO_MAP_IDX
	PseudoMapIdxValue = 6 // BPF_PSEUDO_MAP_IDX_VALUE
	PseudoCall        = 1 // BPF_PSEUDO_CALL
	PseudoKfuncCall   = 2 // BPF_PSEUDO_KFUNC_CALL
)
