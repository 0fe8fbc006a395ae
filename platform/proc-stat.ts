// The start time of a process from the text of /proc/<pid>/stat (field 22, in clock ticks since
// boot): constant for the process's life, so it tells a lock's holder from a later process that
// got the same pid. The command name (field 2) may hold spaces and parentheses: fields are
// counted after its last ")".
export function procStartTime(stat: string): string {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? "";
}
