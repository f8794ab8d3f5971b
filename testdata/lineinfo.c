// SPDX-License-Identifier: GPL-2.0
/*
 * A program the verifier rejects on a line with a distinctive comment: with
 * .BTF.ext line_info passed to BPF_PROG_LOAD the verifier log quotes that
 * source line, so a test can tell that line info reached the kernel.
 */
#include "rawload_helpers.h"

SEC("socket")
int li_bad(struct __sk_buff *skb)
{
	return *(int *)(long)skb->len; /* RAWLOAD_BAD_LINE */
}

char LICENSE[] SEC("license") = "GPL";
