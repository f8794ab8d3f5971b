package syscall

import (
	"testing"
	"unsafe"
)

type fieldLayout struct {
	uapi      string
	got, want uintptr
}

// layouts holds, for every struct this package hands to the kernel, the
// size and member offsets of its C counterpart in include/uapi/linux/bpf.h
// of Linux 6.18 on a 64-bit target, as offsetof and sizeof report them. The
// numbers are written out rather than derived so that a field moved, resized
// or forgotten shows up as a difference from the kernel's layout. C union
// alternatives map to the one Go field that stands for them all. Offsets of
// link_create's union variants count from the start of the union.
var layouts = []struct {
	goName, uapi string
	size, want   uintptr
	fields       []fieldLayout
}{
	{
		"MapCreateAttr", "BPF_MAP_CREATE", unsafe.Sizeof(MapCreateAttr{}), 96,
		[]fieldLayout{
			{"map_type", unsafe.Offsetof(MapCreateAttr{}.MapType), 0},
			{"key_size", unsafe.Offsetof(MapCreateAttr{}.KeySize), 4},
			{"value_size", unsafe.Offsetof(MapCreateAttr{}.ValueSize), 8},
			{"max_entries", unsafe.Offsetof(MapCreateAttr{}.MaxEntries), 12},
			{"map_flags", unsafe.Offsetof(MapCreateAttr{}.MapFlags), 16},
			{"inner_map_fd", unsafe.Offsetof(MapCreateAttr{}.InnerMapFD), 20},
			{"numa_node", unsafe.Offsetof(MapCreateAttr{}.NumaNode), 24},
			{"map_name", unsafe.Offsetof(MapCreateAttr{}.MapName), 28},
			{"map_ifindex", unsafe.Offsetof(MapCreateAttr{}.MapIfindex), 44},
			{"btf_fd", unsafe.Offsetof(MapCreateAttr{}.BTFFD), 48},
			{"btf_key_type_id", unsafe.Offsetof(MapCreateAttr{}.BTFKeyTypeID), 52},
			{"btf_value_type_id", unsafe.Offsetof(MapCreateAttr{}.BTFValueTypeID), 56},
			{"btf_vmlinux_value_type_id", unsafe.Offsetof(MapCreateAttr{}.BTFVmlinuxValueTypeID), 60},
			{"map_extra", unsafe.Offsetof(MapCreateAttr{}.MapExtra), 64},
			{"value_type_btf_obj_fd", unsafe.Offsetof(MapCreateAttr{}.ValueTypeBTFObjFD), 72},
			{"map_token_fd", unsafe.Offsetof(MapCreateAttr{}.MapTokenFD), 76},
			{"excl_prog_hash", unsafe.Offsetof(MapCreateAttr{}.ExclProgHash), 80},
			{"excl_prog_hash_size", unsafe.Offsetof(MapCreateAttr{}.ExclProgHashSize), 88},
		},
	},
	{
		"mapElemAttr", "BPF_MAP_*_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_FREEZE", unsafe.Sizeof(mapElemAttr{}), 32,
		[]fieldLayout{
			{"map_fd", unsafe.Offsetof(mapElemAttr{}.MapFD), 0},
			{"key", unsafe.Offsetof(mapElemAttr{}.Key), 8},
			{"value", unsafe.Offsetof(mapElemAttr{}.Value), 16},
			{"next_key", unsafe.Offsetof(mapElemAttr{}.Value), 16},
			{"flags", unsafe.Offsetof(mapElemAttr{}.Flags), 24},
		},
	},
	{
		"mapBatchAttr", "BPF_MAP_*_BATCH", unsafe.Sizeof(mapBatchAttr{}), 56,
		[]fieldLayout{
			{"in_batch", unsafe.Offsetof(mapBatchAttr{}.InBatch), 0},
			{"out_batch", unsafe.Offsetof(mapBatchAttr{}.OutBatch), 8},
			{"keys", unsafe.Offsetof(mapBatchAttr{}.Keys), 16},
			{"values", unsafe.Offsetof(mapBatchAttr{}.Values), 24},
			{"count", unsafe.Offsetof(mapBatchAttr{}.Count), 32},
			{"map_fd", unsafe.Offsetof(mapBatchAttr{}.MapFD), 36},
			{"elem_flags", unsafe.Offsetof(mapBatchAttr{}.ElemFlags), 40},
			{"flags", unsafe.Offsetof(mapBatchAttr{}.Flags), 48},
		},
	},
	{
		"ProgLoadAttr", "BPF_PROG_LOAD", unsafe.Sizeof(ProgLoadAttr{}), 168,
		[]fieldLayout{
			{"prog_type", unsafe.Offsetof(ProgLoadAttr{}.ProgType), 0},
			{"insn_cnt", unsafe.Offsetof(ProgLoadAttr{}.InsnCnt), 4},
			{"insns", unsafe.Offsetof(ProgLoadAttr{}.Insns), 8},
			{"license", unsafe.Offsetof(ProgLoadAttr{}.License), 16},
			{"log_level", unsafe.Offsetof(ProgLoadAttr{}.LogLevel), 24},
			{"log_size", unsafe.Offsetof(ProgLoadAttr{}.LogSize), 28},
			{"log_buf", unsafe.Offsetof(ProgLoadAttr{}.LogBuf), 32},
			{"kern_version", unsafe.Offsetof(ProgLoadAttr{}.KernVersion), 40},
			{"prog_flags", unsafe.Offsetof(ProgLoadAttr{}.ProgFlags), 44},
			{"prog_name", unsafe.Offsetof(ProgLoadAttr{}.ProgName), 48},
			{"prog_ifindex", unsafe.Offsetof(ProgLoadAttr{}.ProgIfindex), 64},
			{"expected_attach_type", unsafe.Offsetof(ProgLoadAttr{}.ExpectedAttachType), 68},
			{"prog_btf_fd", unsafe.Offsetof(ProgLoadAttr{}.ProgBTFFD), 72},
			{"func_info_rec_size", unsafe.Offsetof(ProgLoadAttr{}.FuncInfoRecSize), 76},
			{"func_info", unsafe.Offsetof(ProgLoadAttr{}.FuncInfo), 80},
			{"func_info_cnt", unsafe.Offsetof(ProgLoadAttr{}.FuncInfoCnt), 88},
			{"line_info_rec_size", unsafe.Offsetof(ProgLoadAttr{}.LineInfoRecSize), 92},
			{"line_info", unsafe.Offsetof(ProgLoadAttr{}.LineInfo), 96},
			{"line_info_cnt", unsafe.Offsetof(ProgLoadAttr{}.LineInfoCnt), 104},
			{"attach_btf_id", unsafe.Offsetof(ProgLoadAttr{}.AttachBTFID), 108},
			{"attach_btf_obj_fd", unsafe.Offsetof(ProgLoadAttr{}.AttachBTFObjFD), 112},
			{"attach_prog_fd", unsafe.Offsetof(ProgLoadAttr{}.AttachBTFObjFD), 112},
			{"core_relo_cnt", unsafe.Offsetof(ProgLoadAttr{}.CoreReloCnt), 116},
			{"fd_array", unsafe.Offsetof(ProgLoadAttr{}.FDArray), 120},
			{"core_relos", unsafe.Offsetof(ProgLoadAttr{}.CoreRelos), 128},
			{"core_relo_rec_size", unsafe.Offsetof(ProgLoadAttr{}.CoreReloRecSize), 136},
			{"log_true_size", unsafe.Offsetof(ProgLoadAttr{}.LogTrueSize), 140},
			{"prog_token_fd", unsafe.Offsetof(ProgLoadAttr{}.ProgTokenFD), 144},
			{"fd_array_cnt", unsafe.Offsetof(ProgLoadAttr{}.FDArrayCnt), 148},
			{"signature", unsafe.Offsetof(ProgLoadAttr{}.Signature), 152},
			{"signature_size", unsafe.Offsetof(ProgLoadAttr{}.SignatureSize), 160},
			{"keyring_id", unsafe.Offsetof(ProgLoadAttr{}.KeyringID), 164},
		},
	},
	{
		"objAttr", "BPF_OBJ_PIN, BPF_OBJ_GET", unsafe.Sizeof(objAttr{}), 24,
		[]fieldLayout{
			{"pathname", unsafe.Offsetof(objAttr{}.Pathname), 0},
			{"bpf_fd", unsafe.Offsetof(objAttr{}.BPFFD), 8},
			{"file_flags", unsafe.Offsetof(objAttr{}.FileFlags), 12},
			{"path_fd", unsafe.Offsetof(objAttr{}.PathFD), 16},
		},
	},
	{
		"progAttachAttr", "BPF_PROG_ATTACH, BPF_PROG_DETACH", unsafe.Sizeof(progAttachAttr{}), 32,
		[]fieldLayout{
			{"target_fd", unsafe.Offsetof(progAttachAttr{}.TargetFD), 0},
			{"target_ifindex", unsafe.Offsetof(progAttachAttr{}.TargetFD), 0},
			{"attach_bpf_fd", unsafe.Offsetof(progAttachAttr{}.AttachBPFFD), 4},
			{"attach_type", unsafe.Offsetof(progAttachAttr{}.AttachType), 8},
			{"attach_flags", unsafe.Offsetof(progAttachAttr{}.AttachFlags), 12},
			{"replace_bpf_fd", unsafe.Offsetof(progAttachAttr{}.ReplaceBPFFD), 16},
			{"relative_fd", unsafe.Offsetof(progAttachAttr{}.RelativeFD), 20},
			{"relative_id", unsafe.Offsetof(progAttachAttr{}.RelativeFD), 20},
			{"expected_revision", unsafe.Offsetof(progAttachAttr{}.ExpectedRevision), 24},
		},
	},
	{
		"progTestRunAttr", "test: BPF_PROG_TEST_RUN", unsafe.Sizeof(progTestRunAttr{}), 80,
		[]fieldLayout{
			{"prog_fd", unsafe.Offsetof(progTestRunAttr{}.ProgFD), 0},
			{"retval", unsafe.Offsetof(progTestRunAttr{}.Retval), 4},
			{"data_size_in", unsafe.Offsetof(progTestRunAttr{}.DataSizeIn), 8},
			{"data_size_out", unsafe.Offsetof(progTestRunAttr{}.DataSizeOut), 12},
			{"data_in", unsafe.Offsetof(progTestRunAttr{}.DataIn), 16},
			{"data_out", unsafe.Offsetof(progTestRunAttr{}.DataOut), 24},
			{"repeat", unsafe.Offsetof(progTestRunAttr{}.Repeat), 32},
			{"duration", unsafe.Offsetof(progTestRunAttr{}.Duration), 36},
			{"ctx_size_in", unsafe.Offsetof(progTestRunAttr{}.CtxSizeIn), 40},
			{"ctx_size_out", unsafe.Offsetof(progTestRunAttr{}.CtxSizeOut), 44},
			{"ctx_in", unsafe.Offsetof(progTestRunAttr{}.CtxIn), 48},
			{"ctx_out", unsafe.Offsetof(progTestRunAttr{}.CtxOut), 56},
			{"flags", unsafe.Offsetof(progTestRunAttr{}.Flags), 64},
			{"cpu", unsafe.Offsetof(progTestRunAttr{}.CPU), 68},
			{"batch_size", unsafe.Offsetof(progTestRunAttr{}.BatchSize), 72},
		},
	},
	{
		"idAttr", "*_GET_NEXT_ID, *_GET_FD_BY_ID", unsafe.Sizeof(idAttr{}), 16,
		[]fieldLayout{
			{"start_id", unsafe.Offsetof(idAttr{}.ID), 0},
			{"prog_id", unsafe.Offsetof(idAttr{}.ID), 0},
			{"map_id", unsafe.Offsetof(idAttr{}.ID), 0},
			{"btf_id", unsafe.Offsetof(idAttr{}.ID), 0},
			{"link_id", unsafe.Offsetof(idAttr{}.ID), 0},
			{"next_id", unsafe.Offsetof(idAttr{}.NextID), 4},
			{"open_flags", unsafe.Offsetof(idAttr{}.OpenFlags), 8},
			{"fd_by_id_token_fd", unsafe.Offsetof(idAttr{}.FDByIDTokenFD), 12},
		},
	},
	{
		"infoAttr", "info: BPF_OBJ_GET_INFO_BY_FD", unsafe.Sizeof(infoAttr{}), 16,
		[]fieldLayout{
			{"bpf_fd", unsafe.Offsetof(infoAttr{}.BPFFD), 0},
			{"info_len", unsafe.Offsetof(infoAttr{}.InfoLen), 4},
			{"info", unsafe.Offsetof(infoAttr{}.Info), 8},
		},
	},
	{
		"rawTracepointAttr", "raw_tracepoint", unsafe.Sizeof(rawTracepointAttr{}), 24,
		[]fieldLayout{
			{"name", unsafe.Offsetof(rawTracepointAttr{}.Name), 0},
			{"prog_fd", unsafe.Offsetof(rawTracepointAttr{}.ProgFD), 8},
			{"cookie", unsafe.Offsetof(rawTracepointAttr{}.Cookie), 16},
		},
	},
	{
		"btfLoadAttr", "BPF_BTF_LOAD", unsafe.Sizeof(btfLoadAttr{}), 40,
		[]fieldLayout{
			{"btf", unsafe.Offsetof(btfLoadAttr{}.BTF), 0},
			{"btf_log_buf", unsafe.Offsetof(btfLoadAttr{}.BTFLogBuf), 8},
			{"btf_size", unsafe.Offsetof(btfLoadAttr{}.BTFSize), 16},
			{"btf_log_size", unsafe.Offsetof(btfLoadAttr{}.BTFLogSize), 20},
			{"btf_log_level", unsafe.Offsetof(btfLoadAttr{}.BTFLogLevel), 24},
			{"btf_log_true_size", unsafe.Offsetof(btfLoadAttr{}.BTFLogTrueSize), 28},
			{"btf_flags", unsafe.Offsetof(btfLoadAttr{}.BTFFlags), 32},
			{"btf_token_fd", unsafe.Offsetof(btfLoadAttr{}.BTFTokenFD), 36},
		},
	},
	{
		"LinkCreateAttr", "link_create", unsafe.Sizeof(LinkCreateAttr{}), 64,
		[]fieldLayout{
			{"prog_fd", unsafe.Offsetof(LinkCreateAttr{}.ProgFD), 0},
			{"map_fd", unsafe.Offsetof(LinkCreateAttr{}.ProgFD), 0},
			{"target_fd", unsafe.Offsetof(LinkCreateAttr{}.TargetFD), 4},
			{"target_ifindex", unsafe.Offsetof(LinkCreateAttr{}.TargetFD), 4},
			{"attach_type", unsafe.Offsetof(LinkCreateAttr{}.AttachType), 8},
			{"flags", unsafe.Offsetof(LinkCreateAttr{}.Flags), 12},
			{"target_btf_id", unsafe.Offsetof(LinkCreateAttr{}.target), 16},
		},
	},
	{
		"linkUpdateAttr", "link_update, link_detach", unsafe.Sizeof(linkUpdateAttr{}), 16,
		[]fieldLayout{
			{"link_fd", unsafe.Offsetof(linkUpdateAttr{}.LinkFD), 0},
			{"new_prog_fd", unsafe.Offsetof(linkUpdateAttr{}.NewProgFD), 4},
			{"new_map_fd", unsafe.Offsetof(linkUpdateAttr{}.NewProgFD), 4},
			{"flags", unsafe.Offsetof(linkUpdateAttr{}.Flags), 8},
			{"old_prog_fd", unsafe.Offsetof(linkUpdateAttr{}.OldProgFD), 12},
			{"old_map_fd", unsafe.Offsetof(linkUpdateAttr{}.OldProgFD), 12},
		},
	},
	{
		"progBindMapAttr", "prog_bind_map", unsafe.Sizeof(progBindMapAttr{}), 12,
		[]fieldLayout{
			{"prog_fd", unsafe.Offsetof(progBindMapAttr{}.ProgFD), 0},
			{"map_fd", unsafe.Offsetof(progBindMapAttr{}.MapFD), 4},
			{"flags", unsafe.Offsetof(progBindMapAttr{}.Flags), 8},
		},
	},
	{
		"LinkTracing", "link_create.tracing (offsets from target_btf_id)", unsafe.Sizeof(LinkTracing{}), 16,
		[]fieldLayout{
			{"tracing.target_btf_id", unsafe.Offsetof(LinkTracing{}.TargetBTFID), 0},
			{"target_btf_id", unsafe.Offsetof(LinkTracing{}.TargetBTFID), 0},
			{"tracing.cookie", unsafe.Offsetof(LinkTracing{}.Cookie), 8},
		},
	},
	{
		"LinkPerfEvent", "link_create.perf_event", unsafe.Sizeof(LinkPerfEvent{}), 8,
		[]fieldLayout{
			{"perf_event.bpf_cookie", unsafe.Offsetof(LinkPerfEvent{}.BPFCookie), 0},
		},
	},
	{
		"LinkIter", "link_create iter_info", unsafe.Sizeof(LinkIter{}), 16,
		[]fieldLayout{
			{"iter_info", unsafe.Offsetof(LinkIter{}.IterInfo), 0},
			{"iter_info_len", unsafe.Offsetof(LinkIter{}.IterInfoLen), 8},
		},
	},
	{
		"LinkKprobeMulti", "link_create.kprobe_multi", unsafe.Sizeof(LinkKprobeMulti{}), 32,
		[]fieldLayout{
			{"kprobe_multi.flags", unsafe.Offsetof(LinkKprobeMulti{}.Flags), 0},
			{"kprobe_multi.cnt", unsafe.Offsetof(LinkKprobeMulti{}.Cnt), 4},
			{"kprobe_multi.syms", unsafe.Offsetof(LinkKprobeMulti{}.Syms), 8},
			{"kprobe_multi.addrs", unsafe.Offsetof(LinkKprobeMulti{}.Addrs), 16},
			{"kprobe_multi.cookies", unsafe.Offsetof(LinkKprobeMulti{}.Cookies), 24},
		},
	},
	{
		"LinkUprobeMulti", "link_create.uprobe_multi", unsafe.Sizeof(LinkUprobeMulti{}), 48,
		[]fieldLayout{
			{"uprobe_multi.path", unsafe.Offsetof(LinkUprobeMulti{}.Path), 0},
			{"uprobe_multi.offsets", unsafe.Offsetof(LinkUprobeMulti{}.Offsets), 8},
			{"uprobe_multi.ref_ctr_offsets", unsafe.Offsetof(LinkUprobeMulti{}.RefCtrOffsets), 16},
			{"uprobe_multi.cookies", unsafe.Offsetof(LinkUprobeMulti{}.Cookies), 24},
			{"uprobe_multi.cnt", unsafe.Offsetof(LinkUprobeMulti{}.Cnt), 32},
			{"uprobe_multi.flags", unsafe.Offsetof(LinkUprobeMulti{}.Flags), 36},
			{"uprobe_multi.pid", unsafe.Offsetof(LinkUprobeMulti{}.PID), 40},
		},
	},
	{
		"LinkNetfilter", "link_create.netfilter", unsafe.Sizeof(LinkNetfilter{}), 16,
		[]fieldLayout{
			{"netfilter.pf", unsafe.Offsetof(LinkNetfilter{}.PF), 0},
			{"netfilter.hooknum", unsafe.Offsetof(LinkNetfilter{}.Hooknum), 4},
			{"netfilter.priority", unsafe.Offsetof(LinkNetfilter{}.Priority), 8},
			{"netfilter.flags", unsafe.Offsetof(LinkNetfilter{}.Flags), 12},
		},
	},
	{
		"LinkRelative", "link_create.tcx", unsafe.Sizeof(LinkRelative{}), 16,
		[]fieldLayout{
			{"tcx.relative_fd", unsafe.Offsetof(LinkRelative{}.RelativeFD), 0},
			{"tcx.relative_id", unsafe.Offsetof(LinkRelative{}.RelativeFD), 0},
			{"tcx.expected_revision", unsafe.Offsetof(LinkRelative{}.ExpectedRevision), 8},
		},
	},
	{
		"LinkRelative", "link_create.netkit", unsafe.Sizeof(LinkRelative{}), 16,
		[]fieldLayout{
			{"netkit.relative_fd", unsafe.Offsetof(LinkRelative{}.RelativeFD), 0},
			{"netkit.relative_id", unsafe.Offsetof(LinkRelative{}.RelativeFD), 0},
			{"netkit.expected_revision", unsafe.Offsetof(LinkRelative{}.ExpectedRevision), 8},
		},
	},
	{
		"LinkRelative", "link_create.cgroup", unsafe.Sizeof(LinkRelative{}), 16,
		[]fieldLayout{
			{"cgroup.relative_fd", unsafe.Offsetof(LinkRelative{}.RelativeFD), 0},
			{"cgroup.relative_id", unsafe.Offsetof(LinkRelative{}.RelativeFD), 0},
			{"cgroup.expected_revision", unsafe.Offsetof(LinkRelative{}.ExpectedRevision), 8},
		},
	},
	{
		"progInfo", "struct bpf_prog_info", unsafe.Sizeof(progInfo{}), 232,
		[]fieldLayout{
			{"type", unsafe.Offsetof(progInfo{}.Type), 0},
			{"id", unsafe.Offsetof(progInfo{}.ID), 4},
			{"tag", unsafe.Offsetof(progInfo{}.Tag), 8},
			{"jited_prog_len", unsafe.Offsetof(progInfo{}.JitedProgLen), 16},
			{"xlated_prog_len", unsafe.Offsetof(progInfo{}.XlatedProgLen), 20},
			{"jited_prog_insns", unsafe.Offsetof(progInfo{}.JitedProgInsns), 24},
			{"xlated_prog_insns", unsafe.Offsetof(progInfo{}.XlatedProgInsns), 32},
			{"load_time", unsafe.Offsetof(progInfo{}.LoadTime), 40},
			{"created_by_uid", unsafe.Offsetof(progInfo{}.CreatedByUID), 48},
			{"nr_map_ids", unsafe.Offsetof(progInfo{}.NrMapIDs), 52},
			{"map_ids", unsafe.Offsetof(progInfo{}.MapIDs), 56},
			{"name", unsafe.Offsetof(progInfo{}.Name), 64},
			{"ifindex", unsafe.Offsetof(progInfo{}.Ifindex), 80},
			{"gpl_compatible (bit 0 of a bitfield word)", unsafe.Offsetof(progInfo{}.Bits), 84},
			{"netns_dev", unsafe.Offsetof(progInfo{}.NetnsDev), 88},
			{"netns_ino", unsafe.Offsetof(progInfo{}.NetnsIno), 96},
			{"nr_jited_ksyms", unsafe.Offsetof(progInfo{}.NrJitedKsyms), 104},
			{"nr_jited_func_lens", unsafe.Offsetof(progInfo{}.NrJitedFuncLens), 108},
			{"jited_ksyms", unsafe.Offsetof(progInfo{}.JitedKsyms), 112},
			{"jited_func_lens", unsafe.Offsetof(progInfo{}.JitedFuncLens), 120},
			{"btf_id", unsafe.Offsetof(progInfo{}.BTFID), 128},
			{"func_info_rec_size", unsafe.Offsetof(progInfo{}.FuncInfoRecSize), 132},
			{"func_info", unsafe.Offsetof(progInfo{}.FuncInfo), 136},
			{"nr_func_info", unsafe.Offsetof(progInfo{}.NrFuncInfo), 144},
			{"nr_line_info", unsafe.Offsetof(progInfo{}.NrLineInfo), 148},
			{"line_info", unsafe.Offsetof(progInfo{}.LineInfo), 152},
			{"jited_line_info", unsafe.Offsetof(progInfo{}.JitedLineInfo), 160},
			{"nr_jited_line_info", unsafe.Offsetof(progInfo{}.NrJitedLineInfo), 168},
			{"line_info_rec_size", unsafe.Offsetof(progInfo{}.LineInfoRecSize), 172},
			{"jited_line_info_rec_size", unsafe.Offsetof(progInfo{}.JitedLineInfoRecSize), 176},
			{"nr_prog_tags", unsafe.Offsetof(progInfo{}.NrProgTags), 180},
			{"prog_tags", unsafe.Offsetof(progInfo{}.ProgTags), 184},
			{"run_time_ns", unsafe.Offsetof(progInfo{}.RunTimeNs), 192},
			{"run_cnt", unsafe.Offsetof(progInfo{}.RunCnt), 200},
			{"recursion_misses", unsafe.Offsetof(progInfo{}.RecursionMisses), 208},
			{"verified_insns", unsafe.Offsetof(progInfo{}.VerifiedInsns), 216},
			{"attach_btf_obj_id", unsafe.Offsetof(progInfo{}.AttachBTFObjID), 220},
			{"attach_btf_id", unsafe.Offsetof(progInfo{}.AttachBTFID), 224},
		},
	},
	{
		"mapInfo", "struct bpf_map_info", unsafe.Sizeof(mapInfo{}), 104,
		[]fieldLayout{
			{"type", unsafe.Offsetof(mapInfo{}.Type), 0},
			{"id", unsafe.Offsetof(mapInfo{}.ID), 4},
			{"key_size", unsafe.Offsetof(mapInfo{}.KeySize), 8},
			{"value_size", unsafe.Offsetof(mapInfo{}.ValueSize), 12},
			{"max_entries", unsafe.Offsetof(mapInfo{}.MaxEntries), 16},
			{"map_flags", unsafe.Offsetof(mapInfo{}.MapFlags), 20},
			{"name", unsafe.Offsetof(mapInfo{}.Name), 24},
			{"ifindex", unsafe.Offsetof(mapInfo{}.Ifindex), 40},
			{"btf_vmlinux_value_type_id", unsafe.Offsetof(mapInfo{}.BTFVmlinuxValueTypeID), 44},
			{"netns_dev", unsafe.Offsetof(mapInfo{}.NetnsDev), 48},
			{"netns_ino", unsafe.Offsetof(mapInfo{}.NetnsIno), 56},
			{"btf_id", unsafe.Offsetof(mapInfo{}.BTFID), 64},
			{"btf_key_type_id", unsafe.Offsetof(mapInfo{}.BTFKeyTypeID), 68},
			{"btf_value_type_id", unsafe.Offsetof(mapInfo{}.BTFValueTypeID), 72},
			{"btf_vmlinux_id", unsafe.Offsetof(mapInfo{}.BTFVmlinuxID), 76},
			{"map_extra", unsafe.Offsetof(mapInfo{}.MapExtra), 80},
			{"hash", unsafe.Offsetof(mapInfo{}.Hash), 88},
			{"hash_size", unsafe.Offsetof(mapInfo{}.HashSize), 96},
		},
	},
	{
		"btfInfo", "struct bpf_btf_info", unsafe.Sizeof(btfInfo{}), 32,
		[]fieldLayout{
			{"btf", unsafe.Offsetof(btfInfo{}.BTF), 0},
			{"btf_size", unsafe.Offsetof(btfInfo{}.BTFSize), 8},
			{"id", unsafe.Offsetof(btfInfo{}.ID), 12},
			{"name", unsafe.Offsetof(btfInfo{}.Name), 16},
			{"name_len", unsafe.Offsetof(btfInfo{}.NameLen), 24},
			{"kernel_btf", unsafe.Offsetof(btfInfo{}.KernelBTF), 28},
		},
	},
	{
		"linkInfo", "struct bpf_link_info, its head before the union", unsafe.Sizeof(linkInfo{}), 12,
		[]fieldLayout{
			{"type", unsafe.Offsetof(linkInfo{}.Type), 0},
			{"id", unsafe.Offsetof(linkInfo{}.ID), 4},
			{"prog_id", unsafe.Offsetof(linkInfo{}.ProgID), 8},
		},
	},
}

func TestLayout(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.goName, func(t *testing.T) {
			if l.size != l.want {
				t.Errorf("%s (%s): size %d, UAPI %d", l.goName, l.uapi, l.size, l.want)
			}
			for _, f := range l.fields {
				if f.got != f.want {
					t.Errorf("%s.%s: offset %d, UAPI %d", l.goName, f.uapi, f.got, f.want)
				}
			}
		})
	}
}

// The link_create variants are views of LinkCreateAttr's union and must not
// reach past it.
func TestLinkCreateVariantsFitUnion(t *testing.T) {
	union := unsafe.Sizeof(LinkCreateAttr{}.target)
	if want := unsafe.Sizeof(LinkCreateAttr{}) - unsafe.Offsetof(LinkCreateAttr{}.target); union != want {
		t.Fatalf("union is %d bytes, %d left after the common part", union, want)
	}
	for name, size := range map[string]uintptr{
		"LinkTracing":     unsafe.Sizeof(LinkTracing{}),
		"LinkPerfEvent":   unsafe.Sizeof(LinkPerfEvent{}),
		"LinkIter":        unsafe.Sizeof(LinkIter{}),
		"LinkKprobeMulti": unsafe.Sizeof(LinkKprobeMulti{}),
		"LinkUprobeMulti": unsafe.Sizeof(LinkUprobeMulti{}),
		"LinkNetfilter":   unsafe.Sizeof(LinkNetfilter{}),
		"LinkRelative":    unsafe.Sizeof(LinkRelative{}),
	} {
		if size > union {
			t.Errorf("%s is %d bytes, the union %d", name, size, union)
		}
	}

	var attr LinkCreateAttr
	attr.Tracing().Cookie = 0x1122334455667788
	if attr.target[1] != 0x1122334455667788 {
		t.Errorf("Tracing().Cookie wrote %#x to the union's second word", attr.target[1])
	}
}
