package bpf

import (
	"testing"

	"github.com/rawload/rawload/internal/uapi"
)

func TestTypeNames(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{ProgramType(uapi.ProgTypeSocketFilter).String(), "socket_filter"},
		{ProgramType(uapi.ProgTypeRawTracepointWritable).String(), "raw_tracepoint_writable"},
		{ProgramType(1000).String(), "prog_type(1000)"},
		{MapType(uapi.MapTypeLRUHash).String(), "lru_hash"},
		{MapType(uapi.MapTypeReuseportSockArray).String(), "reuseport_sockarray"},
		{MapType(1000).String(), "map_type(1000)"},
		{AttachType(uapi.AttachTraceFentry).String(), "trace_fentry"},
		{SourceGlobalData.String(), "global-data"},
		{MapSource(9).String(), "MapSource(9)"},
		{PinNone.String(), "none"},
		{PinByName.String(), "by_name"},
		{Pinning(7).String(), "pinning(7)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
