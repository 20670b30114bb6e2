# Writes OUT, a C++ source defining storage::embedded_migrations(), from the
# schema files listed in LIST_FILE (a CMake list of paths). Run at build time
# by src/CMakeLists.txt, so an installed leadhook needs no sql/ directory.
#
# Every byte of a file becomes a \xHH escape: quotes, backslashes, $$ and
# non-ASCII text survive exactly, so the checksum (SHA-256 of the file, as
# leadhook_migrations records it) is of the very bytes the binary runs.
cmake_minimum_required(VERSION 3.25)

# "0000000004|/path/004_x.sql" for each file, so that sorting orders by version.
function(version_keyed paths out)
  set(keyed "")
  foreach(path IN LISTS paths)
    get_filename_component(name "${path}" NAME)
    if(NOT name MATCHES "^([0-9]+)[A-Za-z0-9_.-]*\\.sql$")
      message(FATAL_ERROR "${path}: a migration is named NNN_words.sql (version first; "
                          "letters, digits, _ . - only)")
    endif()
    string(REGEX REPLACE "^0+([0-9])" "\\1" version "${CMAKE_MATCH_1}")
    string(LENGTH "${version}" width)
    if(width GREATER 9)
      message(FATAL_ERROR "${path}: version ${version} is too large")
    endif()
    math(EXPR pad "10 - ${width}")
    string(REPEAT "0" ${pad} zeros)
    list(APPEND keyed "${zeros}${version}|${path}")
  endforeach()
  list(SORT keyed)
  set(${out} "${keyed}" PARENT_SCOPE)
endfunction()

# The file's bytes as string literal lines of 32 \xHH escapes each.
function(escaped_lines path out)
  file(READ "${path}" hex HEX)
  string(LENGTH "${hex}" size)
  set(lines "")
  set(at 0)
  while(at LESS size)
    string(SUBSTRING "${hex}" ${at} 64 chunk)
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" chunk "${chunk}")
    string(APPEND lines "\n    \"${chunk}\"")
    math(EXPR at "${at} + 64")
  endwhile()
  if(lines STREQUAL "")
    set(lines " \"\"")
  endif()
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

file(READ "${LIST_FILE}" paths)
version_keyed("${paths}" keyed)
if(keyed STREQUAL "")
  message(FATAL_ERROR "no schema files in sql/")
endif()
set(arrays "")
set(table "")
set(previous "")
foreach(entry IN LISTS keyed)
  string(REGEX MATCH "^([0-9]+)\\|(.*)$" unused "${entry}")
  set(padded "${CMAKE_MATCH_1}")
  set(path "${CMAKE_MATCH_2}")
  string(REGEX REPLACE "^0+([0-9])" "\\1" version "${padded}")
  get_filename_component(name "${path}" NAME)
  if(version STREQUAL previous)
    message(FATAL_ERROR "${path}: version ${version} belongs to two migration files")
  endif()
  set(previous "${version}")
  file(SHA256 "${path}" checksum)
  escaped_lines("${path}" lines)
  string(APPEND arrays "// ${name}\nconstexpr char sql_${version}[] =${lines};\n\n")
  string(APPEND table "    {${version}, \"${name}\", {sql_${version}, sizeof sql_${version} - 1},\n"
                      "     \"${checksum}\"},\n")
endforeach()

file(WRITE "${OUT}"
"// Generated from sql/*.sql by src/storage/embed_migrations.cmake; do not edit.
#include \"storage/migrations.hpp\"

namespace leadhook::storage {
namespace {

${arrays}constexpr Migration migrations[] = {
${table}};

} // namespace

std::span<const Migration> embedded_migrations() {
    return migrations;
}

} // namespace leadhook::storage
")
