/** Thrown by a job that stops on `cancel` without a result of its own (an abandoned analysis). */
export class JobCancelled extends Error {
  override name = 'JobCancelled';
  constructor() {
    super('cancelled');
  }
}
