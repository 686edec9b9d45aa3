# Writes a C++ source holding the bytes of a file: cmake -DIN=file -DOUT=out.cpp -DNAME=kSymbol -P embed_file.cmake
# (defines `const unsigned char NAME[]` (NUL-terminated) and `const size_t NAME##Size` in namespace r1).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n_hex)
math(EXPR n_bytes "${n_hex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} by embed_file.cmake; do not edit.\n#include <cstddef>\nnamespace r1 {\n"
  "extern const unsigned char ${NAME}[];\nextern const size_t ${NAME}Size;\n"
  "const unsigned char ${NAME}[] = {\n${bytes}0x00};\nconst size_t ${NAME}Size = ${n_bytes};\n}  // namespace r1\n")
file(RENAME "${OUT}.tmp" "${OUT}")
