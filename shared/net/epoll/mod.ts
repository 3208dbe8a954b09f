// Placeholder until the epoll engine lands (same exports); epollAvailable() is false.
export function epollAvailable(): boolean {
  return false;
}
export class EpollConn {}
const missing = () => {
  throw new Error("the epoll engine is not built yet");
};
export const epollListen: (o: unknown) => never = missing;
export const epollConnect: (o: unknown) => never = missing;
export const epollRelay: (a: unknown, b: unknown, o: unknown) => never = missing;
export const epollEcho: (a: unknown, o: unknown) => never = missing;
