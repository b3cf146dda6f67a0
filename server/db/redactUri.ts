/** A MongoDB URI fit for a log line or an error message: its password, if any, becomes `***`. */
export function redactMongoUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}
