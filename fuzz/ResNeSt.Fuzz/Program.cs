using ResNeSt.Fuzz;

// ResNeSt.Fuzz                 the AFL target (SharpFuzz fork server; run once on stdin outside afl-fuzz)
// ResNeSt.Fuzz replay PATH...  every file (or every file in each directory) through the same target, one line each
// ResNeSt.Fuzz seed OUTDIR [SAMPLE...]  writes the small seed corpus
// ResNeSt.Fuzz bombs OUTDIR    writes files as costly as the pixel budget allows, one per format (replay them)
return args switch
{
    [] => FuzzTarget.RunUnderAfl(),
    ["replay", .. var paths] when paths.Length > 0 => Replay.Run(paths, Console.Out),
    ["seed", var outDir, .. var samples] => Seeds.Write(outDir, samples, Console.Out),
    ["bombs", var outDir] => Bombs.Write(outDir, Console.Out),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: ResNeSt.Fuzz | replay PATH... | seed OUTDIR [SAMPLE...] | bombs OUTDIR");
    return 2;
}
