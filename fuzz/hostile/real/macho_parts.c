/* C the hostile campaigns compile with clang-14 for Darwin (fuzz/hostile/seeds_real.py),
   x86-64 and i386: string literals (__cstring), a constructor (__mod_init_func),
   thread-locals (__thread_vars, __thread_data, __thread_bss), compact unwind for every
   function and one function whose CFI only DWARF can say (__eh_frame), stores of 1, 2 and
   4-byte immediates through RIP-relative operands (X86_64_RELOC_SIGNED_1/2/4), a GOT load
   of libSystem's stdout, address differences in data (SUBTRACTOR pairs; on i386
   SECTDIFF/LOCAL_SECTDIFF, as are its PIC accesses), weak and private-extern symbols, and
   -g's __DWARF; built with subsections-via-symbols. */
#include <stdio.h>
#include <string.h>

extern int cxx_part(int n);

char flag_byte;
short flag_short;
int flag_int = 9;
__attribute__((weak)) int weak_counter = 1;
__attribute__((visibility("hidden"))) int hidden_value = 2;
__thread int tls_count = 5;
__thread char tls_scratch[64];

static int table[4] = {1, 2, 3, 4};
int *table_at(int i) { return &table[i]; }
/* Differences of addresses in data (C has no constant for them): a SUBTRACTOR pair each on
   x86-64, a SECTDIFF (to a global) and LOCAL_SECTDIFF-able pair on i386. */
#ifdef __x86_64__
__asm__(".data\n.globl _cross_span\n.p2align 3\n_cross_span:\n.quad _flag_int - _hidden_value\n"
        ".globl _local_span\n_local_span:\n.quad _flag_int - Llocal_mark\nLlocal_mark:\n.quad 0\n");
#else
__asm__(".data\n.globl _cross_span\n.p2align 2\n_cross_span:\n.long _flag_int - _hidden_value\n"
        ".globl _local_span\n_local_span:\n.long _flag_int - Llocal_mark\nLlocal_mark:\n.long 0\n");
#endif
extern long cross_span, local_span;

static int started;
__attribute__((constructor)) static void early(void) { started += 1; }

__attribute__((noinline)) int poke(int x) {
  flag_byte = 1;
  flag_short = 2;
  flag_int = 3;
  return x + flag_byte + flag_short + flag_int;
}

/* CFI compact unwind cannot encode (a DW_CFA_GNU_args_size escape): it goes to __eh_frame. */
#ifdef __x86_64__
__asm__(".text\n.globl _odd_frame\n_odd_frame:\n.cfi_startproc\n"
        "  pushq %rbp\n.cfi_def_cfa_offset 16\n.cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n.cfi_def_cfa_register %rbp\n.cfi_escape 0x2e, 0x10\n"
        "  leal 7(%rdi), %eax\n  popq %rbp\n  retq\n.cfi_endproc\n");
#else
__asm__(".text\n.globl _odd_frame\n_odd_frame:\n.cfi_startproc\n"
        "  pushl %ebp\n.cfi_def_cfa_offset 8\n.cfi_offset %ebp, -8\n"
        "  movl %esp, %ebp\n.cfi_def_cfa_register %ebp\n.cfi_escape 0x2e, 0x10\n"
        "  movl 8(%ebp), %eax\n  addl $7, %eax\n  popl %ebp\n  retl\n.cfi_endproc\n");
#endif
int odd_frame(int x);

static const char *const greetings[] = {"hello, hostile world", "world", "hostile"};

int main(int argc, char **argv) {
  const char *text = greetings[argc % 3];
  strncpy(tls_scratch, argv[0], sizeof tls_scratch - 1);
  tls_count += poke(argc) + odd_frame(hidden_value) + weak_counter + started;
  fprintf(stdout, "%s %d %ld %ld %d\n", text, tls_count, cross_span, local_span,
          cxx_part(argc + 2) + table[argc & 3]);
  return 0;
}
