import { loadLabs } from '../../labs/index.ts';
import { TRACKS, type Lab } from '../../grader/types.ts';
import { palette, shouldColour } from '../../grader/report/colour.ts';

export const TRACK_TITLES: Record<(typeof TRACKS)[number], string> = {
  foundations: 'Foundations',
  'api-design': 'API design',
  security: 'Security',
  data: 'Data',
  async: 'Async and realtime',
  scaling: 'Scaling and architecture',
};

export function labSummary(lab: Lab) {
  return {
    id: lab.id,
    title: lab.title,
    track: lab.track,
    summary: lab.summary,
    difficulty: lab.difficulty,
    estimatedMinutes: lab.estimatedMinutes,
    questions: lab.questions,
    services: lab.services,
    checks: lab.checks.map((c) => ({ id: c.id, title: c.title })),
  };
}

export function formatList(labs: Lab[], colour: boolean): string {
  const c = palette(colour);
  const lines: string[] = [];
  const width = Math.max(...labs.map((l) => l.id.length));
  for (const track of TRACKS) {
    const inTrack = labs.filter((l) => l.track === track);
    if (inTrack.length === 0) continue;
    lines.push(c.bold(TRACK_TITLES[track]));
    for (const lab of inTrack) {
      const services = lab.services.length ? c.dim(` [${lab.services.join(', ')}]`) : '';
      lines.push(`  ${c.cyan(lab.id.padEnd(width))}  ${lab.title}${services} ${c.dim(`· ${lab.checks.length} checks · ~${lab.estimatedMinutes} min`)}`);
    }
    lines.push('');
  }
  lines.push(c.dim(`${labs.length} labs. Start one with \`labs start <id>\`; details with \`labs info <id>\`.`));
  return lines.join('\n');
}

export async function runList(opts: { json?: boolean }): Promise<number> {
  const labs = await loadLabs();
  if (opts.json) process.stdout.write(JSON.stringify(labs.map(labSummary), null, 2) + '\n');
  else process.stdout.write(formatList(labs, shouldColour(process.stdout)) + '\n');
  return 0;
}
