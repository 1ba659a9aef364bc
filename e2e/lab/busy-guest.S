/* Boot sector of the lab guest vm-busy: enters 32-bit protected mode and rewrites 16 MiB of guest memory
 * (1 MiB..17 MiB) forever with a changing value, so a live migration at 1 MiB/s never converges by itself. */
	.code16
	.globl _start
_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl gdt_desc
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $pm
	.code32
pm:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	xorl %edx, %edx
outer:
	incl %edx
	movl $0x100000, %edi
	movl $(16 << 20) / 4, %ecx
	movl %edx, %eax
	rep stosl
	jmp outer
	.p2align 3
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF
	.quad 0x00CF92000000FFFF
gdt_desc:
	.word 23
	.long gdt
	.org 510
	.byte 0x55, 0xAA
