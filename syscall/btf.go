package syscall

import (
	"runtime"
	"unsafe"

	"github.com/rawload/rawload/internal/uapi"
)

// btfLoadAttr is the BPF_BTF_LOAD member of union bpf_attr.
type btfLoadAttr struct {
	BTF            uint64
	BTFLogBuf      uint64
	BTFSize        uint32
	BTFLogSize     uint32
	BTFLogLevel    uint32
	BTFLogTrueSize uint32
	BTFFlags       uint32
	BTFTokenFD     int32
}

// BTFLoad loads raw BTF (header, types, strings) into the kernel and
// returns its fd. It follows ProgLoad's log policy: at logLevel 0 the log
// is only asked for after a failure. The log is returned whenever one was
// taken.
func BTFLoad(btf []byte, logLevel uint32) (fd int, log string, err error) {
	attr := btfLoadAttr{
		BTF:     sliceAddr(btf),
		BTFSize: uint32(len(btf)),
	}
	var restarts int
	fd, log, err = loadWithLog(logLevel, &restarts, func(level uint32, buf []byte) (int, uint32, error) {
		attr.BTFLogLevel = level
		attr.BTFLogSize = uint32(len(buf))
		attr.BTFLogBuf = sliceAddr(buf)
		attr.BTFLogTrueSize = 0
		fd, err := bpf(uapi.CmdBTFLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(buf)
		return fd, attr.BTFLogTrueSize, err
	})
	runtime.KeepAlive(btf)
	return fd, log, err
}
