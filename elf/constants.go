package elf

// Constants from the ELF gABI and the BPF psABI, limited to what BPF objects
// use. The names follow the specifications so they can be looked up there.
// They are untyped so they compare with the differently sized fields of
// Section, Symbol and Relocation.

// Section types (sh_type).
const (
	SHT_NULL     = 0
	SHT_PROGBITS = 1
	SHT_SYMTAB   = 2
	SHT_STRTAB   = 3
	SHT_RELA     = 4
	SHT_NOBITS   = 8
	SHT_REL      = 9
)

// Section flags (sh_flags).
const (
	SHF_WRITE     = 0x1
	SHF_ALLOC     = 0x2
	SHF_EXECINSTR = 0x4

	shfCompressed = 0x800
)

// Symbol types, the low nibble of st_info.
const (
	STT_NOTYPE  = 0
	STT_OBJECT  = 1
	STT_FUNC    = 2
	STT_SECTION = 3
)

// Symbol bindings, the high nibble of st_info.
const (
	STB_LOCAL  = 0
	STB_GLOBAL = 1
	STB_WEAK   = 2
)

// Symbol visibilities, the low 2 bits of st_other.
const (
	STV_DEFAULT   = 0
	STV_INTERNAL  = 1
	STV_HIDDEN    = 2
	STV_PROTECTED = 3
)

// Visibility is the symbol's STV_* visibility.
func (sym Symbol) Visibility() uint8 { return sym.Other & 3 }

// Special section indices (st_shndx).
const (
	SHN_UNDEF  = 0
	SHN_ABS    = 0xfff1
	SHN_COMMON = 0xfff2

	shnLoReserve = 0xff00
	shnXIndex    = 0xffff
)

// EM_BPF is the e_machine of BPF objects.
const EM_BPF = 247

// BPF relocation types (the low 32 bits of r_info).
const (
	R_BPF_NONE        = 0
	R_BPF_64_64       = 1
	R_BPF_64_ABS64    = 2
	R_BPF_64_ABS32    = 3
	R_BPF_64_NODYLD32 = 4
	R_BPF_64_32       = 10
)

// Sizes of the ELF64 on-disk structures.
const (
	identSize         = 16
	headerSize        = 64
	sectionHeaderSize = 64
	symbolSize        = 24
	relSize           = 16
	relaSize          = 24
)
