# Shared by the bench scripts (sourced): checks that the corpus and the binary exist, prepares the output
# folder, and times commands. Expects NAME (the script's name for messages), BIN, CORPUS and OUT set.

require_corpus_and_binary() {
  [ -f "$CORPUS/models.json" ] || { echo "$NAME: no corpus at $CORPUS (build it with ../shared/corpus/build.sh)" >&2; exit 1; }
  [ -x "$BIN" ] || { echo "$NAME: no onnxquant binary at $BIN (make build)" >&2; exit 1; }
}

# OUT empty: a temporary folder removed on exit. Then OUT is made absolute.
prepare_out() {
  if [ -z "$OUT" ]; then OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT; fi
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
}

seconds_of() {  # runs a command, prints its wall seconds; its stdout goes to $1
  local out=$1 start end
  shift
  start=$(date +%s.%N)
  "$@" > "$out"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}'
}
