# cmake -DXDPLB=BIN -DOUT=FILE -P commands_h2m.cmake: a help2man include with a COMMANDS
# section, the output of `xdplb --help-all` (every command's and subcommand's help) as roff.
execute_process(COMMAND ${XDPLB} --help-all OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${XDPLB} --help-all failed (${rc})")
endif()
# The top-level help is the man page's OPTIONS already: from the first command on.
string(FIND "${help}" "\n\nxdplb " first)
string(SUBSTRING "${help}" ${first} -1 help)
string(REPLACE "\\" "\\e" help "${help}")
string(REPLACE "-" "\\-" help "${help}")
# A line starting with . or ' would be a roff request.
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
# Each command's name in bold, its help as written.
string(REGEX REPLACE "\n\n(xdplb[a-z \\\\-]*)\n" "\n.fi\n.SS \\1\n.nf\n" help "${help}")
file(WRITE ${OUT} "[COMMANDS]\n.nf\n${help}\n.fi\n")
