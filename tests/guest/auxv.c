/*
 * auxv: the auxiliary vector and the initial stack, checked against where Linux puts
 * things. Values are printed when they are the same for any correct kernel on this
 * machine, layout facts as 1/0.
 */
#include "check.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern char _start[];

static int first_phdr(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  *(const void **)data = info->dlpi_phdr;
  return 1;
}

static int find_interp(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  if (strstr(info->dlpi_name, "ld-linux")) {
    *(uintptr_t *)data = info->dlpi_addr;
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  say("at_pagesz", "%lu", getauxval(AT_PAGESZ));
  say("at_phent", "%lu", getauxval(AT_PHENT));
  say("at_clktck", "%lu", getauxval(AT_CLKTCK));
  say("at_flags", "%lu", getauxval(AT_FLAGS));
  say("at_secure", "%lu", getauxval(AT_SECURE));
  say("at_uid_is_uid", "%d", getauxval(AT_UID) == getuid());
  say("at_euid_is_euid", "%d", getauxval(AT_EUID) == geteuid());
  say("at_gid_is_gid", "%d", getauxval(AT_GID) == getgid());
  say("at_egid_is_egid", "%d", getauxval(AT_EGID) == getegid());
  say("at_hwcap", "%#lx", getauxval(AT_HWCAP));
  say("at_hwcap2", "%#lx", getauxval(AT_HWCAP2));
  say("at_platform", "%s", (const char *)getauxval(AT_PLATFORM));
  say("at_entry_is_start", "%d", getauxval(AT_ENTRY) == (unsigned long)_start);
  const void *phdr = NULL;
  dl_iterate_phdr(first_phdr, &phdr);
  say("at_phdr_is_program_headers", "%d", getauxval(AT_PHDR) == (unsigned long)phdr);
  uintptr_t interp = 0;
  dl_iterate_phdr(find_interp, &interp);
  say("at_base_is_interpreter", "%d", getauxval(AT_BASE) == interp);

  /* The stack: argc, argv[], NULL, envp[], NULL, auxv, 16-byte aligned at argc. */
  long *sp = (long *)argv - 1;
  say("argc_on_stack", "%d", *sp == argc);
  say("sp_16_byte_aligned", "%d", ((uintptr_t)sp & 15) == 0);
  say("envp_follows_argv", "%d", environ == argv + argc + 1);
  char **e = environ;
  while (*e)
    e++;
  Elf64_auxv_t *auxv = (Elf64_auxv_t *)(e + 1);
  int n = 0;
  while (auxv[n].a_type != AT_NULL)
    n++;
  say("auxv_follows_envp", "%d", auxv[0].a_type != AT_NULL && n > 10);

  /* Strings: argv then envp then the exec filename, back to back, then 8 zero bytes
   * at the top of the stack. AT_RANDOM and the platform string lie between the
   * pointer tables and the strings. */
  int packed = 1;
  for (int i = 0; i + 1 < argc; i++)
    packed &= argv[i + 1] == argv[i] + strlen(argv[i]) + 1;
  char *after_args = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
  say("argv_strings_packed", "%d", packed);
  if (environ[0]) {
    say("envp_strings_follow_argv", "%d", environ[0] == after_args);
    packed = 1;
    for (int i = 0; environ[i + 1]; i++)
      packed &= environ[i + 1] == environ[i] + strlen(environ[i]) + 1;
    say("envp_strings_packed", "%d", packed);
    after_args = e[-1] + strlen(e[-1]) + 1;
  }
  const char *execfn = (const char *)getauxval(AT_EXECFN);
  say("execfn_follows_strings", "%d", execfn == after_args);
  say("execfn_is_argv0", "%d", strcmp(execfn, argv[0]) == 0);
  const char *top = execfn + strlen(execfn) + 1;
  say("eight_zero_bytes_at_top", "%d", *(const uint64_t *)top == 0);
  say("stack_top_page_aligned", "%d", ((uintptr_t)(top + 8) & 4095) == 0);
  uintptr_t rnd = getauxval(AT_RANDOM), plat = getauxval(AT_PLATFORM);
  say("random_between_tables_and_strings", "%d", rnd > (uintptr_t)&auxv[n] && rnd < (uintptr_t)argv[0]);
  say("platform_above_random", "%d", plat == rnd + 16);
  return check_finish();
}
