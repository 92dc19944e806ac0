/* Whether this CPU runs AVX-512F code, asked once per process (the kernels keep portable versions besides). */
#ifndef SAE_CPU_H
#define SAE_CPU_H
#if defined(__x86_64__) && defined(__GNUC__)
static inline int cpu_has_avx512f(void) {
  static int yes = -1;
  if (yes < 0) {
    __builtin_cpu_init();
    yes = __builtin_cpu_supports("avx512f") ? 1 : 0;
  }
  return yes;
}
#else
static inline int cpu_has_avx512f(void) { return 0; }
#endif
#endif
