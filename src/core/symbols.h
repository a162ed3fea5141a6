// Interned strings. Label names and values repeat across millions of series; each distinct
// string is stored once and every label set holds views into that storage.
//
// Thread-safe. Interned strings live as long as the process: the table never frees. That
// bounds memory by the number of distinct strings ever seen, not by series count.
#pragma once

#include <string_view>

namespace zw {

// Returns a view equal to `s` whose storage is owned by the process-wide table and never
// moves or dies. Interning the same content twice returns the same pointer.
std::string_view Intern(std::string_view s);

// Bytes held by the table (for the server's own metrics).
size_t InternedBytes();

}  // namespace zw
