# shellcheck shell=bash
# A record of what a bring-up created, one object per line ("kind arg..."), kept in a file so
# that cleanup — possibly in another process (demo up / demo down) — undoes exactly that and
# nothing that was there before. Sourced by lxd.sh and lxc.sh.

# created_record FILE KIND ARG...: append one object.
created_record() {
  local file=$1
  shift
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$*" >>"$file"
}

# created_undo FILE HANDLER: call "HANDLER KIND ARG..." for each recorded object, newest first,
# then remove the file. A failing handler is reported but does not stop the others.
created_undo() {
  local file=$1 handler=$2 line rc=0
  [ -f "$file" ] || return 0
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    # shellcheck disable=SC2086  # the record is "kind arg..." split on spaces by design
    if ! "$handler" $line; then
      echo "cleanup: could not undo '$line'" >&2
      rc=1
    fi
  done < <(tac "$file")
  rm -f "$file"
  return $rc
}
