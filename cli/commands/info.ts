import { loadLab } from '../../labs/index.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';
import { TRACK_TITLES } from './list.ts';
import { describeRuns } from '../../grader/define.ts';

export async function runInfo(id: string): Promise<number> {
  const lab = await loadLab(id);
  const c = palette(shouldColour(process.stdout));
  const lines = [
    `${c.bold(lab.title)} ${c.dim(`(${lab.id})`)}`,
    lab.summary,
    '',
    `${c.dim('Track:')}      ${TRACK_TITLES[lab.track]}`,
    `${c.dim('Difficulty:')} ${lab.difficulty}, about ${lab.estimatedMinutes} min`,
    `${c.dim('Questions:')}  ${lab.questions.join(', ')} (see \`labs questions\`)`,
    `${c.dim('Runs:')}       ${describeRuns(lab)}`,
    `${c.dim('Services:')}   ${lab.services.length ? lab.services.join(', ') : 'none'}`,
  ];
  const knobs = Object.entries(lab.env);
  if (knobs.length) {
    lines.push('', c.bold('Environment your server receives (besides PORT)'));
    for (const [name, knob] of knobs) lines.push(`  ${c.cyan(name)}  ${knob.description}`);
  }
  const commands = Object.entries(lab.commands ?? {});
  if (commands.length) {
    lines.push('', c.bold('Commands the checks run (labs.json "commands")'));
    for (const [name, cmd] of commands) lines.push(`  ${c.cyan(name)}  ${cmd.description} ${c.dim(`(default: ${cmd.start})`)}`);
  }
  lines.push('', c.bold(`Checks (${lab.checks.length}, in order)`));
  lab.checks.forEach((check, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${check.title} ${c.dim(`[${check.id}]`)}`));
  lines.push('', c.dim(`Start it: labs start ${lab.id}`));
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
