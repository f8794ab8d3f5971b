package uapi

import "testing"

func TestNames(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{ProgTypeName(ProgTypeXDP), "xdp"},
		{ProgTypeName(ProgTypeNetfilter), "netfilter"},
		{ProgTypeName(999), "prog_type(999)"},
		{MapTypeName(MapTypeRingBuf), "ringbuf"},
		{MapTypeName(MapTypeCgroupStorage), "cgroup_storage"},
		{MapTypeName(MapTypeArena), "arena"},
		{AttachTypeName(AttachCgroupInetIngress), "cgroup_inet_ingress"},
		{AttachTypeName(AttachTraceUprobeSession), "trace_uprobe_session"},
		{AttachTypeName(1 << 31), "attach_type(2147483648)"},
		{LinkTypeName(LinkTypeTCX), "tcx"},
		{LinkTypeName(LinkTypeSockMap), "sockmap"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestNamesCoverEveryConstant catches a type added to a constant table
// without a name.
func TestNamesCoverEveryConstant(t *testing.T) {
	for _, c := range []struct {
		table string
		names []string
		last  uint32
	}{
		{"prog types", progTypeNames, ProgTypeNetfilter},
		{"map types", mapTypeNames, MapTypeArena},
		{"attach types", attachTypeNames, AttachTraceUprobeSession},
		{"link types", linkTypeNames, LinkTypeSockMap},
	} {
		if len(c.names) != int(c.last)+1 {
			t.Errorf("%s: %d names, want %d", c.table, len(c.names), c.last+1)
		}
	}
}
