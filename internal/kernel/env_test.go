package kernel

import "testing"

func TestNewDefaults(t *testing.T) {
	want := Paths{
		BTFDir:           "/sys/kernel/btf",
		Kallsyms:         "/proc/kallsyms",
		PossibleCPUs:     "/sys/devices/system/cpu/possible",
		ProcConfig:       "/proc/config.gz",
		BootDir:          "/boot",
		VersionSignature: "/proc/version_signature",
	}
	if got := New(Paths{}).Paths(); got != want {
		t.Errorf("defaults %+v", got)
	}
	if got := System().Paths(); got != want {
		t.Errorf("System reads %+v", got)
	}
	custom := New(Paths{BTFDir: "/tmp/btf"}).Paths()
	if custom.BTFDir != "/tmp/btf" || custom.Kallsyms != want.Kallsyms {
		t.Errorf("one path set: %+v", custom)
	}
	if New(Paths{}) == New(Paths{}) || System() != System() {
		t.Error("New must return a fresh Env, System the same one")
	}
}
