#include <wchar.h>
#include <uchar.h>
const char *narrow_a(void) { return "merged narrow string"; }
const wchar_t *wide_a(void) { return L"merged wide string"; }
const char16_t *u16_a(void) { return u"merged utf-16 string"; }
const char32_t *u32_a(void) { return U"merged utf-32 string"; }
const char *middle_a(void) { return "merged narrow string" + 7; }
