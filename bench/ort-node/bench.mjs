// Bare inference images/s of an ONNX model from onnxruntime-node: the same measurement as `resnest bench`'s
// bareInference (ready float tensor [N,3,S,S], CPU, all optimisations, no spinning), for tools/ort-compare.sh.
//   node bench.mjs MODEL.onnx [--batch 8] [--seconds 10] [--threads 0]
import * as ort from "onnxruntime-node";

const args = process.argv.slice(2);
const model = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const batch = opt("--batch", 8);
const seconds = opt("--seconds", 10);
const threads = opt("--threads", 0);

const session = await ort.InferenceSession.create(model, {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  extra: { session: { intra_op: { allow_spinning: "0" } } },
});
const inputName = session.inputNames[0];
const size = Number(process.env.CROP ?? 224);
const data = new Float32Array(batch * 3 * size * size);
for (let i = 0; i < data.length; i++) data[i] = Math.sin(i) * 2;
const feeds = { [inputName]: new ort.Tensor("float32", data, [batch, 3, size, size]) };
for (let i = 0; i < 2; i++) await session.run(feeds);

let count = 0;
const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
  await session.run(feeds);
  count += batch;
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({
  runtime: "onnxruntime-node", version: ort.env.versions?.node ?? "1.30.0", batch, threads,
  imagesPerSecond: Math.round((count / elapsed) * 100) / 100,
  cpuMsPerImage: Math.round(((cpu.user + cpu.system) / 1000 / count) * 100) / 100,
  seconds: Math.round(elapsed * 100) / 100,
}));
