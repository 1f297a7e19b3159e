#!/bin/bash
# Start-up cost of fullcycle (issue 19): median CPU (user+sys) and wall seconds of 5 runs each of
# `fullcycle --help`, `import fullcycle` and `from fullcycle import Project`.
# usage: bench/startup.sh [SRC_DIR] [PYTHON]   (defaults: ./src and .venv/bin/python)
# "before" figures: git worktree add /tmp/before <commit>; bench/startup.sh /tmp/before/src
PY_ARG="${2:-.venv/bin/python}"
SRC=$(realpath "${1:-src}"); PY="$(cd "$(dirname "$PY_ARG")" && pwd)/$(basename "$PY_ARG")"
"$PY" -c "import fullcycle" || exit 1  # not the venv's symlink target: keep the venv's path
for what in "-m fullcycle --help" "-c 'import fullcycle'" "-c 'from fullcycle import Project'"; do
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%U %S %e" env PYTHONPATH="$SRC" bash -c "cd /tmp && $PY $what >/dev/null" \
      2>&1 | tail -1
  done | awk '{print $1 + $2, $3}' | sort -n | awk -v w="$what" \
    '{a[NR] = $0} END {split(a[3], m, " "); printf "%-40s cpu %.2f s  wall %.2f s\n", w, m[1], m[2]}'
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); venv: $(du -sh "$(dirname "$(dirname "$PY")")" | cut -f1)"
