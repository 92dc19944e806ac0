// Connecting to the lab's MongoDB without ever letting its password out: the URI is shown only through redactUri,
// a password from the environment or a prompt goes to the driver as `auth` (never into a string we print or
// store), TLS options pass through to MongoClientOptions, and every driver error is turned into one line that
// names the server by its redacted URI.
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { InputError } from '../errors';

const URI = /^(mongodb(?:\+srv)?:\/\/)(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]*)(\/[^?]*)?(\?.*)?$/;
const SECRET_PARAMS =
  /([?&](?:password|authMechanismProperties|tlsCertificateKeyFilePassword|AWS_SESSION_TOKEN)=)[^&]*/gi;

/** The URI with its password (and secret query options) replaced by `***`; anything unparsable is hidden whole. */
export function redactUri(uri: string): string {
  const m = URI.exec(uri.trim());
  if (!m) return '<a MongoDB URI that does not parse>';
  const [, scheme, user, password, hosts, path = '', query = ''] = m;
  const auth = user === undefined ? '' : `${user}${password !== undefined ? ':***' : ''}@`;
  return `${scheme}${auth}${hosts}${path}${query.replace(SECRET_PARAMS, '$1***')}`;
}

export interface MongoTarget {
  uri: string;
  /** Database name (default lm-saes's `mechinterp`, or the URI's path). */
  db: string;
  /** A password for the URI's user, given apart from the URI (SAE_STUDIO_MONGO_PASSWORD or a prompt). */
  password?: string;
  serverSelectionTimeoutMS?: number;
  tls?: Pick<
    MongoClientOptions,
    'tls' | 'tlsCAFile' | 'tlsCertificateKeyFile' | 'tlsCertificateKeyFilePassword' | 'tlsAllowInvalidCertificates'
  >;
}

/** Where sync state is kept for this server and database: the redacted URI without password, query or path. */
export function targetKey(target: MongoTarget): string {
  const m = URI.exec(target.uri.trim());
  if (!m) throw new InputError(`--mongo: ${redactUri(target.uri)} is not a mongodb:// or mongodb+srv:// URI`);
  return `${m[1]}${m[2] ? `${m[2]}@` : ''}${m[4]}/${target.db}`;
}

/** The URI's user name, if any, and whether it carries a password. */
export function uriCredentials(uri: string): { user?: string; hasPassword: boolean } {
  const m = URI.exec(uri.trim());
  return { user: m?.[2] ? decodeURIComponent(m[2]) : undefined, hasPassword: m?.[3] !== undefined };
}

/** One line for any error the driver throws, with the server named by its redacted URI and no secret in it. */
export function describeMongoError(err: unknown, target: MongoTarget): Error {
  if (err instanceof InputError) return err;
  const e = err as { name?: string; code?: number; codeName?: string; message?: string };
  const where = redactUri(target.uri);
  const hide = (text: string) => {
    let out = text.replace(/mongodb(?:\+srv)?:\/\/\S+/g, (u) => redactUri(u));
    const secret = target.password ?? (URI.exec(target.uri.trim())?.[3] || undefined);
    if (secret) out = out.split(secret).join('***');
    return out.split('\n')[0]!;
  };
  const message = hide(String(e.message ?? err));
  if (e.name === 'MongoServerSelectionError' || e.name === 'MongoNetworkError' || e.name === 'MongoNetworkTimeoutError')
    return new InputError(
      `cannot reach MongoDB at ${where} within ${target.serverSelectionTimeoutMS ?? 30_000} ms (${message})`,
    );
  if (e.code === 18 || e.codeName === 'AuthenticationFailed' || /auth(entication)? failed/i.test(message))
    return new InputError(
      `MongoDB at ${where} refused the credentials of user '${uriCredentials(target.uri).user ?? ''}' (authentication failed)`,
    );
  if (e.code === 13 || e.codeName === 'Unauthorized')
    return new InputError(`MongoDB at ${where}: the user may not do this on database '${target.db}' (${message})`);
  if (e.name === 'MongoParseError' || e.name === 'MongoInvalidArgumentError')
    return new InputError(`--mongo ${where}: ${message}`);
  return new Error(`MongoDB at ${where}: ${message}`);
}

/** Connects (the driver's own server selection, bounded by serverSelectionTimeoutMS) or throws one line. */
export async function connectMongo(target: MongoTarget): Promise<MongoClient> {
  const creds = uriCredentials(target.uri);
  if (!URI.test(target.uri.trim()))
    throw new InputError(`--mongo: ${redactUri(target.uri)} is not a mongodb:// or mongodb+srv:// URI`);
  const options: MongoClientOptions = {
    serverSelectionTimeoutMS: target.serverSelectionTimeoutMS ?? 30_000,
    connectTimeoutMS: target.serverSelectionTimeoutMS ?? 30_000,
    appName: 'sae-studio',
    ...target.tls,
    ...(target.password !== undefined && creds.user !== undefined && !creds.hasPassword
      ? { auth: { username: creds.user, password: target.password } }
      : {}),
  };
  // A user name without a password in the URI, and none given: the URI's user is dropped by the driver otherwise.
  const uri =
    target.password !== undefined && creds.user !== undefined && !creds.hasPassword
      ? target.uri.replace(/^(mongodb(?:\+srv)?:\/\/)[^@/]*@/, '$1')
      : target.uri;
  let client: MongoClient | undefined;
  try {
    client = new MongoClient(uri, options);
    await client.connect();
    await client.db(target.db).command({ ping: 1 });
    return client;
  } catch (err) {
    await client?.close().catch(() => undefined);
    throw describeMongoError(err, target);
  }
}
