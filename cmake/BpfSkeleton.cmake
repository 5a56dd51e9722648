# xdplb_bpf_skeleton(NAME SOURCE): compile SOURCE with clang -target bpf into NAME.bpf.o and
# generate NAME.skel.h with `bpftool gen skeleton`; exposes an INTERFACE target NAME_skel whose
# include directory holds the skeleton header.
find_program(CLANG_BPF NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

# The multiarch include dir holds <asm/types.h>, which <linux/types.h> needs.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
  OUTPUT_VARIABLE XDPLB_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT XDPLB_MULTIARCH)
  execute_process(COMMAND gcc -print-multiarch
    OUTPUT_VARIABLE XDPLB_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()

# Extra clang flags for the BPF objects: -DXDPLB_NO_TRACE compiles the trace hook out (to
# measure what it costs with no trace running against the same build; bench/prog_cost).
set(XDPLB_BPF_CFLAGS "" CACHE STRING "extra clang flags for the BPF objects")
separate_arguments(XDPLB_BPF_CFLAGS_LIST UNIX_COMMAND "${XDPLB_BPF_CFLAGS}")

function(xdplb_bpf_skeleton name source)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
  set(skel ${skel_dir}/${name}.skel.h)
  file(GLOB bpf_headers ${CMAKE_CURRENT_SOURCE_DIR}/lib/*.h)
  # -mcpu=v3: atomic fetch-and/or/add whose result is used (connection counting, turns).
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG_BPF} -g -O2 -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_x86
            ${XDPLB_BPF_CFLAGS_LIST} -I${PROJECT_SOURCE_DIR}/include -I${CMAKE_CURRENT_SOURCE_DIR}
            -I/usr/include/${XDPLB_MULTIARCH}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
    DEPENDS ${source} ${bpf_headers} ${PROJECT_SOURCE_DIR}/include/xdplb/abi.h
    COMMENT "BPF ${source}")
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${skel_dir}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h")
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${skel_dir})
  set_property(GLOBAL PROPERTY ${name}_BPF_OBJECT ${obj})
endfunction()
