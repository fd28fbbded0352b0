/**
 * Looks NB201 architectures up in the NB201 table bundled with torchnas (NCP's copy: ImageNet16-120 accuracy,
 * CIFAR-100 network FLOPs and parameters), and lists the best cells of the space.
 *
 *   node examples/run.js examples/nb201-lookup.ts ['|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' …]
 */
import { lookupNb201, nb201, openNb201Table } from 'torchnas';

async function main(): Promise<void> {
  const table = await openNb201Table('nb201'); // a name; a path to ncp-trainval.pkl|json works too
  console.log(`${table.records.length} architectures from ${table.file}`);

  const wanted = process.argv.slice(2);
  for (const arch of wanted.length > 0 ? wanted : ['|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|']) {
    const r = lookupNb201(table, nb201.parseNb201String(arch));
    console.log(`${arch}: index ${r.index}, accuracy ${r.accuracy.toFixed(2)} %, rank ${r.rank}, ${r.flops} MFLOPs, ${r.params} M params`);
  }

  const best = table.records
    .map((record, i) => ({ record, rank: table.rankOf[i] }))
    .sort((a, b) => a.rank - b.rank || a.record.index - b.record.index)
    .slice(0, 5);
  console.log('best 5:');
  for (const { record, rank } of best) {
    console.log(`  #${rank} index ${record.index} ${nb201.formatNb201String(table.index.opsAt(record.index))} ${record.acc.toFixed(2)} %`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
