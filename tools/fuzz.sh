#!/usr/bin/env bash
# Coverage-guided fuzzing of the decode + preprocess path (ImageSharp 2.1.13 + ResNeSt.Inference.Imaging) with
# SharpFuzz and AFL++. See docs/fuzzing.md.
#
#   tools/fuzz.sh run SECONDS      build, instrument, seed, then afl-fuzz for SECONDS (resumes an earlier run's queue)
#   tools/fuzz.sh stats            executions, paths, crashes and hangs of the last run
#   tools/fuzz.sh replay PATH...   files or directories through the target outside AFL (triage; no instrumentation)
#   tools/fuzz.sh build            build and instrument only
#   tools/fuzz.sh seed             (re)write the seed corpus only
#
# Needs: afl++ (apt-get install -y afl++), the .NET SDK; optional: libjpeg-turbo-progs (jpegtran) for progressive,
# arithmetic-coded and restart-marker JPEG seeds. FUZZ_DIR (default artifacts/fuzz) holds everything it writes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${FUZZ_DIR:-$root/artifacts/fuzz}
project=$root/fuzz/ResNeSt.Fuzz
sharpfuzz_version=2.3.0
tool_dir=$root/.cache/sharpfuzz-$sharpfuzz_version
instrumented=$work/instrumented
plain=$work/plain
seeds=$work/seeds
findings=$work/findings
# afl-fuzz's per-input limit. The target's decode timeout is 1 s; an input still running after 5 s is a hang the
# timeout did not catch (a fixed value: "5000+" would let afl-fuzz pick a far shorter one from the seeds' speed).
afl_timeout_ms=${FUZZ_TIMEOUT_MS:-5000}

die() { echo "fuzz.sh: $*" >&2; exit 2; }

build() {
    command -v dotnet >/dev/null || die "the .NET SDK is missing"
    if [[ ! -x $tool_dir/sharpfuzz ]]; then
        dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$tool_dir" >/dev/null
    fi
    # A fresh publish each time: SharpFuzz rewrites the assemblies in place and refuses to instrument twice.
    rm -rf "$instrumented" "$plain"
    dotnet publish "$project" -c Release -o "$instrumented" --nologo -v quiet
    for assembly in SixLabors.ImageSharp.dll ResNeSt.Inference.dll; do
        "$tool_dir/sharpfuzz" "$instrumented/$assembly"
    done
    # An uninstrumented copy for seeding and triage: faster, and its stack traces are the product's own.
    dotnet publish "$project" -c Release -o "$plain" --nologo -v quiet
}

seed() {
    rm -rf "$seeds"
    mkdir -p "$seeds"
    dotnet "$plain/ResNeSt.Fuzz.dll" seed "$seeds" "$root"/samples/images/* \
        "$root"/tests/ResNeSt.Inference.Tests/fixtures/images/{cmyk-320x240.jpg,photo-422.jpg,tall-37x400.png}
    # Fixtures already small enough to use as they are (an EXIF-rotated JPEG, a lossy WebP, a 1×1 PNG).
    for f in exif-6.jpg lossy-223x177.webp one-pixel.png; do
        cp "$root/tests/ResNeSt.Inference.Tests/fixtures/images/$f" "$seeds/fixture-$f"
    done
    if command -v jpegtran >/dev/null; then
        # Lossless transcodes of a generated JPEG into the decoder paths ImageSharp's encoder never writes.
        jpegtran -progressive "$seeds/jpeg-420.jpg" >"$seeds/jpeg-420-progressive.jpg"
        jpegtran -arithmetic "$seeds/jpeg-444.jpg" >"$seeds/jpeg-444-arithmetic.jpg"
        jpegtran -progressive -arithmetic "$seeds/jpeg-grey.jpg" >"$seeds/jpeg-grey-progressive-arithmetic.jpg"
        jpegtran -restart 1 "$seeds/jpeg-420.jpg" >"$seeds/jpeg-420-restart.jpg"
        jpegtran -progressive "$seeds/sample-cmyk-320x240.jpg" >"$seeds/jpeg-progressive-thumbnail.jpg"
    else
        echo "fuzz.sh: jpegtran not found (apt-get install -y libjpeg-turbo-progs); no progressive/arithmetic seeds" >&2
    fi
    find "$seeds" -type f -size +10k -print -delete | sed 's/^/dropped (over 10 KB): /'
    echo "seeds: $(find "$seeds" -type f | wc -l) files, $(du -sk "$seeds" | cut -f1) KB"
}

dictionary() {
    local dir=/usr/share/doc/afl++-doc/afl/dictionaries out=$work/formats.dict
    : >"$out"
    for d in jpeg png gif webp bmp exif; do
        [[ -f $dir/$d.dict ]] && grep -v '^#' "$dir/$d.dict" | sed "s/^\([a-zA-Z_0-9]*\)=/${d}_\1=/" >>"$out"
    done
    if [[ -s $out ]]; then
        echo "-x $out"
    fi
}

stats() {
    local file=$findings/default/fuzzer_stats
    [[ -f $file ]] || die "no fuzzer_stats under $findings (run first)"
    awk -F' *: *' '
        $1 == "start_time" { start = $2 } $1 == "last_update" { last = $2 }
        $1 ~ /^(run_time|execs_done|execs_per_sec|corpus_count|paths_total|corpus_found|paths_found|saved_crashes|unique_crashes|saved_hangs|unique_hangs|bitmap_cvg|stability|slowest_exec_ms|peak_rss_mb)$/ {
            printf "%-16s %s\n", $1, $2 }
        END { if (last && start) printf "%-16s %s s (this session)\n", "wall", last - start }' "$file"
    local crashes hangs
    crashes=$(find "$findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
    hangs=$(find "$findings/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
    echo "files            $crashes crashes, $hangs hangs under $findings/default (earlier runs' in $work/kept)"
}

run() {
    local seconds=${1:?run SECONDS}
    command -v afl-fuzz >/dev/null || die "afl-fuzz is missing (apt-get install -y afl++)"
    build
    [[ -d $seeds ]] || seed
    mkdir -p "$findings"
    # A resumed afl-fuzz empties crashes/ and hangs/: keep what the last run found.
    local previous
    for previous in "$findings"/default/crashes "$findings"/default/hangs; do
        if compgen -G "$previous/id:*" >/dev/null; then
            mkdir -p "$work/kept/$(basename "$previous")"
            cp -n "$previous"/id:* "$work/kept/$(basename "$previous")/"
        fi
    done
    local dict
    dict=$(dictionary)
    # AFL_SKIP_BIN_CHECK: the instrumentation is in the .NET assemblies, not in the dotnet host AFL starts.
    # AFL_AUTORESUME: a second run continues the first one's queue instead of starting over.
    # AFL_NO_AFFINITY: the machine is shared; do not pin to (or wait for) a free core.
    # AFL_FORKSRV_INIT_TMOUT: the runtime's start-up (JIT of an instrumented ImageSharp) takes seconds.
    # shellcheck disable=SC2086 # $dict is "-x FILE" or nothing
    AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    AFL_AUTORESUME=1 AFL_NO_UI=1 AFL_FORKSRV_INIT_TMOUT=60000 AFL_MAP_SIZE=65536 \
        afl-fuzz -V "$seconds" -i "$seeds" -o "$findings" -t "$afl_timeout_ms" -m none $dict \
        -- dotnet "$instrumented/ResNeSt.Fuzz.dll"
    stats
}

replay() {
    (($# > 0)) || die "replay PATH..."
    # Always from the current sources: triage against a stale build would blame fixed code.
    dotnet publish "$project" -c Release -o "$plain" --nologo -v quiet >&2
    dotnet "$plain/ResNeSt.Fuzz.dll" replay "$@"
}

command=${1:-}
shift || true
case $command in
    run) run "$@" ;;
    stats) stats ;;
    replay) replay "$@" ;;
    build) build ;;
    seed) [[ -f $plain/ResNeSt.Fuzz.dll ]] || build; seed ;;
    *) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
