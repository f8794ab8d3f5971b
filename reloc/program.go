package reloc

// SiteKind says how an ld_imm64 refers to a map.
type SiteKind int

const (
	// SiteMapFD loads the map itself (BPF_PSEUDO_MAP_FD).
	SiteMapFD SiteKind = iota
	// SiteMapValue loads the address of a byte in the map's only value
	// (BPF_PSEUDO_MAP_VALUE), as global data references do.
	SiteMapValue
)

// Site is an ld_imm64 instruction that refers to a map: the only place in a
// program's instructions where a number is still missing after linking.
type Site struct {
	Offset      int // byte offset of the instruction in Program.Insns
	Map         int // index into Object.Maps
	Kind        SiteKind
	ValueOffset uint32 // for SiteMapValue
}

// Program is a linked program: its own function followed by every
// subprogram it calls, directly or not, each once.
type Program struct {
	Name    string
	Section string
	Kind    ProgramKind
	// Insns holds the linked instructions; sites carry fd 0 until patched.
	Insns []byte
	Sites []Site
	// Maps lists the indexes of the maps the program refers to, ascending,
	// taken from its relocations.
	Maps []int
	// FuncInfo and LineInfo are BTF ext info records for Insns, in kernel
	// wire format, with type ids and strings of Object.BTF.
	FuncInfo, LineInfo               []byte
	FuncInfoRecSize, LineInfoRecSize uint32
	// Externs are the instructions that refer to kernel symbols.
	Externs []Extern
	// CORE is the number of CO-RE relocations in the program; they are
	// applied when Link has a target BTF.
	CORE int
	// StructOps is the kernel struct member a struct_ops program
	// implements, nil when no struct_ops map uses it.
	StructOps *StructOpsUse
	// Err is set when the program cannot be loaded: an unknown section, or
	// an object feature rawload does not support yet.
	Err error
}

// InsnCount is the number of 8-byte instruction slots.
func (p *Program) InsnCount() int { return len(p.Insns) / insnSize }
