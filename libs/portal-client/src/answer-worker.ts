// A worker thread of AnswerWorkers: reads answers (readAnswer) so that a large JSON.parse does not hold the main thread.
import { parentPort } from 'node:worker_threads';
import { readAnswer } from './answer';
import type { AnswerJob, AnswerReply } from './answer-workers';

parentPort?.on('message', (job: AnswerJob) => {
  let reply: AnswerReply;
  try {
    reply = { id: job.id, body: readAnswer(job.kind, Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength)) };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
