/**
 * Writes wxlogin-client.d.ts, the declarations a TypeScript mini program in its own repo compiles
 * against: the client's API (everything client/index.ts exports) and the router's procedures
 * (`Api`, `RouterInputs`, `RouterOutputs`), standing alone.
 *
 * Why not tsc's own declaration output: it would re-export tRPC's client types, and those name
 * URL, AbortSignal, Blob, FormData, WebSocket and more, which a mini program (ES libraries and
 * miniprogram-api-typings, no DOM) does not have; and it would import the server's types, which
 * drag mongoose, fastify, pino and Node in. So this walks the types with the compiler's checker
 * and prints them expanded:
 *
 *   - a type declared in client/ (an interface, a type alias, a class) keeps its name and is
 *     declared in the file, with its doc comments;
 *   - the typed tRPC client (`TRPCClient<AppRouter>`) becomes `Api`: one `query` or `mutate` per
 *     procedure, with tRPC's own input and output types for the client, printed as literal types;
 *   - ECMAScript's built-ins (Promise, Date, Record ...) keep their names;
 *   - anything else (zod's inferred types, the server's and shared/'s interfaces) is expanded
 *     into a literal type; a named type from a package that cannot be expanded fails the build.
 *
 * Everything comes from client/index.ts and the router: a new export of the client or a new
 * module's procedures appear without editing this file. Procedures HTTP never reaches (admin.*,
 * refused by adminProcedure's middleware whatever the caller sends) are left out. The result is
 * type-checked on its own (ES2018 libraries only, strict) before it is written.
 */
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = join(root, 'client') + sep;
const entry = join(root, 'client/index.ts');

interface RouterProcedure {
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  /** False for procedures only an in-process caller can use. */
  overHttp: boolean;
}

/** The router's procedures as the server builds them, and which of them HTTP can reach. */
async function routerProcedures(): Promise<RouterProcedure[]> {
  const [{ appRouter }, { adminProcedure }] = await Promise.all([import('../server/root'), import('../server/trpc/adminProcedure')]);
  type Def = { type: RouterProcedure['type']; middlewares: unknown[] };
  // adminProcedure's own middleware refuses every caller whose context is not `admin: true`, and
  // no HTTP context is (the fuzz test recognises operators' procedures the same way).
  const adminOnly = (adminProcedure as unknown as { _def: Def })._def.middlewares.at(-1);
  return Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: Def }>).map(([path, { _def }]) => ({
    path,
    type: _def.type,
    overHttp: !_def.middlewares.includes(adminOnly),
  }));
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const propertyKey = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

class DeclarationPrinter {
  private readonly checker: ts.TypeChecker;
  /** Symbols printed by name, and the name. */
  private readonly names = new Map<ts.Symbol, string>();
  private readonly byName = new Map<string, ts.Symbol>();
  /** The declared types of the aliases printed by name. */
  private readonly typeNames = new Map<ts.Type, string>();
  private readonly queue: { symbol: ts.Symbol; typeOnly: boolean }[] = [];
  /** Types being expanded, to refuse a recursive one instead of looping. */
  private readonly expanding = new Set<ts.Type>();
  /** The typed tRPC client's type, met where the client's API names it. */
  trpcClient: ts.Type | undefined;

  constructor(private readonly program: ts.Program) {
    this.checker = program.getTypeChecker();
  }

  private fileOf(symbol: ts.Symbol): ts.SourceFile | undefined {
    return symbol.declarations?.[0]?.getSourceFile();
  }

  private isClient(symbol: ts.Symbol): boolean {
    const file = this.fileOf(symbol)?.fileName;
    return !!file && resolve(file).startsWith(clientDir) && !file.includes(`${sep}node_modules${sep}`);
  }

  private isLib(symbol: ts.Symbol): boolean {
    const file = this.fileOf(symbol);
    return !!file && this.program.isSourceFileDefaultLibrary(file);
  }

  private where(symbol: ts.Symbol): string {
    const file = this.fileOf(symbol)?.fileName;
    return file ? relative(root, file) : 'nowhere';
  }

  /** Gives `symbol` a name in the file (and queues its declaration); the name. */
  name(symbol: ts.Symbol, as = symbol.name, typeOnly = true): string {
    const known = this.names.get(symbol);
    if (known) return known;
    const taken = this.byName.get(as);
    if (taken && taken !== symbol) throw new Error(`Two types are both called ${as} (${this.where(taken)}, ${this.where(symbol)}); rename one`);
    this.names.set(symbol, as);
    this.byName.set(as, symbol);
    this.queue.push({ symbol, typeOnly });
    // The checker shares one union for equal member sets and keeps the alias of the first it made:
    // an exported alias is also known by its type, so `reason: ErrorReason` reads as written.
    if (symbol.flags & ts.SymbolFlags.TypeAlias) this.typeNames.set(this.checker.getDeclaredTypeOfSymbol(symbol), as);
    return as;
  }

  /** The declarations queued so far, and those they name in turn. */
  declarations(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.queue.length; i++) out.push(this.declare(this.queue[i]!.symbol, this.queue[i]!.typeOnly));
    return out;
  }

  private declare(symbol: ts.Symbol, typeOnly: boolean): string {
    const c = this.checker;
    const name = this.names.get(symbol)!;
    const doc = this.doc(symbol, '');
    const decl = symbol.declarations?.[0];
    if (!typeOnly && symbol.flags & ts.SymbolFlags.Function) {
      return c
        .getSignaturesOfType(c.getTypeOfSymbol(symbol), ts.SignatureKind.Call)
        .map((sig) => `${this.doc(sig, '')}export declare function ${name}${this.signature(sig, '', ':')};`)
        .join('\n');
    }
    if (!typeOnly && symbol.flags & ts.SymbolFlags.Class) return doc + this.classDeclaration(symbol, name);
    if (symbol.flags & ts.SymbolFlags.Interface) {
      const type = c.getDeclaredTypeOfSymbol(symbol) as ts.InterfaceType;
      return `${doc}export interface ${name}${this.typeParameters(type.typeParameters)} ${this.objectBody(type, '')}`;
    }
    if (symbol.flags & ts.SymbolFlags.TypeAlias && decl && ts.isTypeAliasDeclaration(decl)) {
      const params = c.getDeclaredTypeOfSymbol(symbol).aliasTypeArguments;
      const text = this.isClient(symbol) ? this.aliasText(decl.type) : this.type(c.getDeclaredTypeOfSymbol(symbol), '', true);
      return `${doc}export type ${name}${this.typeParameters(params as ts.TypeParameter[] | undefined)} = ${text};`;
    }
    if (symbol.flags & ts.SymbolFlags.Class) return `${doc}export interface ${name} ${this.objectBody(c.getDeclaredTypeOfSymbol(symbol), '')}`;
    throw new Error(`${name} (${this.where(symbol)}) is neither a type, a function nor a class: teach client/emitTypes.ts to declare it`);
  }

  private classDeclaration(symbol: ts.Symbol, name: string): string {
    const c = this.checker;
    const decl = symbol.declarations!.find(ts.isClassDeclaration)!;
    const instance = c.getDeclaredTypeOfSymbol(symbol) as ts.InterfaceType;
    const base = c.getBaseTypes(instance)[0];
    const own = (d: ts.Declaration) => d.parent === decl || (ts.isParameter(d) && d.parent.parent === decl);
    const members = c
      .getPropertiesOfType(instance)
      .filter((p) => p.declarations?.some(own))
      .map((p) => this.member(p, '  '));
    const statics = c.getPropertiesOfType(c.getTypeOfSymbol(symbol)).filter((p) => p.name !== 'prototype' && p.declarations?.some(own));
    if (statics.length) throw new Error(`${name} has static members (${statics.map((s) => s.name).join(', ')}): teach client/emitTypes.ts to declare them`);
    const constructors = c
      .getSignaturesOfType(c.getTypeOfSymbol(symbol), ts.SignatureKind.Construct)
      .map((sig) => `${this.doc(sig, '  ')}  constructor${this.parameters(sig, '  ')};`);
    const heritage = base ? ` extends ${this.type(base, '')}` : '';
    return `export declare class ${name}${this.typeParameters(instance.typeParameters)}${heritage} {\n${[...members, ...constructors].join('\n')}\n}`;
  }

  /**
   * A client type alias as written where that reads better than its expansion (`ErrorReason |
   * TransportReason | 'UNKNOWN'`); whatever else it says, expanded.
   */
  private aliasText(node: ts.TypeNode): string {
    if (ts.isUnionTypeNode(node)) return node.types.map((n) => this.aliasText(n)).join(' | ');
    if (ts.isLiteralTypeNode(node)) return node.getText();
    if (ts.isTypeReferenceNode(node)) {
      const c = this.checker;
      let symbol = c.getSymbolAtLocation(node.typeName);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = c.getAliasedSymbol(symbol);
      if (symbol && (this.names.has(symbol) || this.isClient(symbol)) && symbol.flags & (ts.SymbolFlags.Type)) {
        const args = node.typeArguments?.map((a) => this.type(c.getTypeFromTypeNode(a), ''));
        return this.name(symbol) + (args?.length ? `<${args.join(', ')}>` : '');
      }
      return this.type(c.getTypeFromTypeNode(node), '');
    }
    return this.type(this.checker.getTypeFromTypeNode(node), '', true);
  }

  private typeParameters(params: readonly ts.TypeParameter[] | undefined): string {
    if (!params?.length) return '';
    const one = (p: ts.TypeParameter) => {
      const constraint = p.getConstraint();
      const fallback = p.getDefault();
      return `${p.symbol.name}${constraint ? ` extends ${this.type(constraint, '')}` : ''}${fallback ? ` = ${this.type(fallback, '')}` : ''}`;
    };
    return `<${params.map(one).join(', ')}>`;
  }

  private typeArguments(args: readonly ts.Type[] | undefined, indent: string): string {
    return args?.length ? `<${args.map((a) => this.type(a, indent)).join(', ')}>` : '';
  }

  /**
   * `type` as text. `expandAlias`: print what an alias stands for rather than its name (to
   * declare the alias itself).
   */
  type(type: ts.Type, indent: string, expandAlias = false): string {
    const c = this.checker;
    const alias = type.aliasSymbol;
    if (alias && !expandAlias) {
      if (alias.name === 'TRPCClient' && this.where(alias).includes(`node_modules${sep}@trpc${sep}client`)) {
        this.trpcClient = type;
        return 'Api';
      }
      if (this.names.has(alias) || this.isClient(alias)) return this.name(alias) + this.typeArguments(type.aliasTypeArguments, indent);
      if (this.isLib(alias)) return alias.name + this.typeArguments(type.aliasTypeArguments, indent);
    }
    const aliasName = expandAlias ? undefined : this.typeNames.get(type);
    if (aliasName) return aliasName;
    const f = type.flags;
    if (f & (ts.TypeFlags.Enum | ts.TypeFlags.EnumLiteral | ts.TypeFlags.UniqueESSymbol)) {
      throw new Error(`${c.typeToString(type)} (an enum or unique symbol) has no literal form for the phone's types`);
    }
    if (f & ts.TypeFlags.TypeParameter) return type.symbol.name;
    if (type.isUnion()) return this.union(type, indent);
    if (type.isIntersection()) return type.types.map((t) => this.wrapped(t, indent)).join(' & ');
    if (!(f & ts.TypeFlags.Object)) {
      return c.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType);
    }
    if (c.isArrayType(type)) {
      const [element] = c.getTypeArguments(type as ts.TypeReference);
      return `${type.symbol?.name === 'ReadonlyArray' ? 'readonly ' : ''}${this.wrapped(element!, indent)}[]`;
    }
    if (c.isTupleType(type)) return this.tuple(type as ts.TupleTypeReference, indent);
    const symbol = type.symbol as ts.Symbol | undefined;
    const objectFlags = (type as ts.ObjectType).objectFlags;
    const isNamed = !!symbol && !!(objectFlags & (ts.ObjectFlags.Interface | ts.ObjectFlags.Reference)) && !(objectFlags & ts.ObjectFlags.Anonymous);
    if (isNamed) {
      const target = (type as ts.TypeReference).target ?? type;
      const count = (target as ts.InterfaceType).typeParameters?.length ?? 0;
      const args = objectFlags & ts.ObjectFlags.Reference ? c.getTypeArguments(type as ts.TypeReference).slice(0, count) : [];
      if (this.names.has(symbol) || this.isClient(symbol)) return this.name(symbol) + this.typeArguments(args, indent);
      if (this.isLib(symbol)) return symbol.name + this.typeArguments(args, indent);
      if (this.where(symbol).includes(`node_modules${sep}`)) {
        throw new Error(`${c.typeToString(type)} (${this.where(symbol)}) is a package's type, which the mini program does not have`);
      }
    }
    return this.objectBody(type, indent);
  }

  private union(type: ts.UnionType, indent: string): string {
    const parts: string[] = [];
    let booleans = 0;
    for (const t of type.types) {
      if (t.flags & ts.TypeFlags.BooleanLiteral) {
        // The checker keeps `boolean` as `true | false`; say it as written.
        if (booleans++ === 0) parts.push('boolean');
        continue;
      }
      parts.push(this.wrapped(t, indent));
    }
    // `string | null`, as people write it, not the checker's order (null and undefined first).
    const last = (p: string) => (p === 'null' ? 1 : p === 'undefined' ? 2 : 0);
    parts.sort((a, b) => last(a) - last(b));
    if (booleans === 1) {
      const only = type.types.find((t) => t.flags & ts.TypeFlags.BooleanLiteral)!;
      parts[parts.indexOf('boolean')] = this.checker.typeToString(only);
    }
    return parts.join(' | ');
  }

  /** A member of a union, intersection or array, parenthesised where it must be. */
  private wrapped(type: ts.Type, indent: string): string {
    const text = this.type(type, indent);
    const compound = !type.aliasSymbol && (type.isUnion() || type.isIntersection() || this.isFunction(type));
    return compound ? `(${text})` : text;
  }

  /** Printed as a function type: an anonymous object type with one call signature and nothing else. */
  private isFunction(type: ts.Type): boolean {
    const c = this.checker;
    return (
      !!(type.flags & ts.TypeFlags.Object) &&
      !!((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Anonymous) &&
      c.getSignaturesOfType(type, ts.SignatureKind.Call).length === 1 &&
      !c.getPropertiesOfType(type).length &&
      !c.getIndexInfosOfType(type).length &&
      !c.getSignaturesOfType(type, ts.SignatureKind.Construct).length
    );
  }

  private tuple(type: ts.TupleTypeReference, indent: string): string {
    const flags = type.target.elementFlags;
    const elements = this.checker.getTypeArguments(type).map((t, i) => {
      const f = flags[i]!;
      if (f & ts.ElementFlags.Variable) return `...${this.wrapped(t, indent)}[]`;
      return `${this.type(t, indent)}${f & ts.ElementFlags.Optional ? '?' : ''}`;
    });
    return `${type.target.readonly ? 'readonly ' : ''}[${elements.join(', ')}]`;
  }

  /** An object type's members as a literal type (a lone call signature as a function type). */
  private objectBody(type: ts.Type, indent: string): string {
    const c = this.checker;
    if (this.expanding.has(type)) throw new Error(`${c.typeToString(type)} is recursive: give it a name in client/ to declare it`);
    this.expanding.add(type);
    try {
      const properties = c.getPropertiesOfType(type);
      const calls = c.getSignaturesOfType(type, ts.SignatureKind.Call);
      const constructs = c.getSignaturesOfType(type, ts.SignatureKind.Construct);
      const indexes = c.getIndexInfosOfType(type);
      if (!properties.length && !indexes.length && !constructs.length && calls.length === 1) return this.signature(calls[0]!, indent, ' =>');
      const inner = `${indent}  `;
      const lines = [
        ...indexes.map((info) => {
          const key = info.declaration?.parameters[0]?.name.getText() ?? 'key';
          return `${inner}${info.isReadonly ? 'readonly ' : ''}[${key}: ${this.type(info.keyType, inner)}]: ${this.type(info.type, inner)};`;
        }),
        ...calls.map((sig) => `${this.doc(sig, inner)}${inner}${this.signature(sig, inner, ':')};`),
        ...constructs.map((sig) => `${this.doc(sig, inner)}${inner}new ${this.signature(sig, inner, ':')};`),
        ...properties.map((p) => this.member(p, inner)),
      ];
      return lines.length ? `{\n${lines.join('\n')}\n${indent}}` : '{}';
    } finally {
      this.expanding.delete(type);
    }
  }

  private member(property: ts.Symbol, indent: string): string {
    const c = this.checker;
    if (property.name.startsWith('__@')) throw new Error(`A symbol-keyed member (${property.name}) has no literal form for the phone's types`);
    const decl = property.valueDeclaration ?? property.declarations?.[0];
    const key = propertyKey(property.name);
    const optional = property.flags & ts.SymbolFlags.Optional ? '?' : '';
    const type = c.getTypeOfSymbol(property);
    if (decl && (ts.isMethodSignature(decl) || ts.isMethodDeclaration(decl))) {
      return c
        .getSignaturesOfType(c.getNonNullableType(type), ts.SignatureKind.Call)
        .map((sig) => `${this.doc(sig, indent) || this.doc(property, indent)}${indent}${key}${optional}${this.signature(sig, indent, ':')};`)
        .join('\n');
    }
    const readonly = decl && ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
    return `${this.doc(property, indent)}${indent}${readonly}${key}${optional}: ${this.type(type, indent)};`;
  }

  private parameters(sig: ts.Signature, indent: string): string {
    const params = sig.getParameters().map((p, i) => {
      const decl = p.valueDeclaration as ts.ParameterDeclaration | undefined;
      const rest = decl?.dotDotDotToken ? '...' : '';
      const optional = decl && !rest && this.checker.isOptionalParameter(decl) ? '?' : '';
      // A destructured parameter has no name of its own.
      const name = p.name.startsWith('__') ? `arg${i}` : p.name;
      return `${rest}${name}${optional}: ${this.type(this.checker.getTypeOfSymbol(p), indent)}`;
    });
    return `(${params.join(', ')})`;
  }

  /** `<T>(a: A) => R` (arrow `' =>'`) or `<T>(a: A): R` (`':'`). */
  private signature(sig: ts.Signature, indent: string, arrow: ' =>' | ':'): string {
    const returns = this.type(sig.getReturnType(), indent);
    return `${this.typeParameters(sig.getTypeParameters())}${this.parameters(sig, indent)}${arrow} ${returns}`;
  }

  /** The doc comment of a declaration, as a `/** *\/` block, or ''. */
  doc(of: ts.Symbol | ts.Signature, indent: string): string {
    const text = ts.displayPartsToString(of.getDocumentationComment(this.checker)).trim();
    const tags = of.getJsDocTags(this.checker).map((t) => `@${t.name}${t.text ? ` ${ts.displayPartsToString(t.text)}` : ''}`);
    const lines = [...(text ? text.split('\n') : []), ...tags].map((l) => l.replace(/\*\//g, '*\\/'));
    if (!lines.length) return '';
    if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
    return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ` ${l}` : ''}`).join('\n')}\n${indent} */\n`;
  }
}

interface ProcedureTypes {
  kind: 'query' | 'mutate';
  input: ts.Type;
  inputOptional: boolean;
  output: ts.Type;
  doc: string;
}
interface ApiTree {
  children: Map<string, ApiTree>;
  procedure?: ProcedureTypes;
}

/** Every procedure path the typed client has (a node with query, mutate or subscribe is one). */
function clientPaths(checker: ts.TypeChecker, type: ts.Type, prefix = ''): string[] {
  const methods = ['query', 'mutate', 'subscribe'];
  if (methods.some((m) => checker.getPropertyOfType(type, m))) return [prefix];
  // The client also carries a symbol-keyed untyped client: not a procedure.
  const named = checker.getPropertiesOfType(type).filter((p) => !p.name.startsWith('__@'));
  return named.flatMap((p) => clientPaths(checker, checker.getTypeOfSymbol(p), prefix ? `${prefix}.${p.name}` : p.name));
}

/** The phone's procedures, with the types tRPC's client gives them, as a tree by path. */
function apiTree(printer: DeclarationPrinter, checker: ts.TypeChecker, client: ts.Type, procedures: RouterProcedure[]): ApiTree {
  const typed = clientPaths(checker, client).sort();
  const built = procedures.map((p) => p.path).sort();
  if (typed.join() !== built.join()) {
    throw new Error(`The router's procedures (${built.join(', ')}) and its type's (${typed.join(', ')}) differ`);
  }
  const tree: ApiTree = { children: new Map() };
  for (const proc of procedures.filter((p) => p.overHttp)) {
    if (proc.type === 'subscription') throw new Error(`${proc.path} is a subscription, which the mini program client cannot call over wx.request`);
    let type = client;
    let node = tree;
    let symbol: ts.Symbol | undefined;
    for (const segment of proc.path.split('.')) {
      symbol = checker.getPropertyOfType(type, segment)!;
      type = checker.getTypeOfSymbol(symbol);
      let child = node.children.get(segment);
      if (!child) node.children.set(segment, (child = { children: new Map() }));
      node = child;
    }
    const kind = proc.type === 'query' ? 'query' : 'mutate';
    const method = checker.getTypeOfSymbol(checker.getPropertyOfType(type, kind)!);
    const [sig] = checker.getSignaturesOfType(method, ts.SignatureKind.Call);
    const input = checker.getTypeOfSymbol(sig!.getParameters()[0]!);
    const output = checker.getAwaitedType(sig!.getReturnType());
    if (!output) throw new Error(`${proc.path}: its client method returns no promise`);
    node.procedure = {
      kind,
      input,
      inputOptional: checker.isTypeAssignableTo(checker.getUndefinedType(), input),
      output,
      doc: printer.doc(symbol!, ''),
    };
  }
  return tree;
}

const indentDoc = (doc: string, indent: string) => doc.replace(/^(?=.)/gm, indent);

function printTree(tree: ApiTree, indent: string, leaf: (p: ProcedureTypes, path: string[], indent: string) => string, path: string[] = []): string {
  const inner = `${indent}  `;
  const lines = [...tree.children].map(([name, child]) => {
    const at = [...path, name];
    const doc = child.procedure ? indentDoc(child.procedure.doc, inner) : '';
    return `${doc}${inner}${propertyKey(name)}: ${child.procedure ? leaf(child.procedure, at, inner) : printTree(child, inner, leaf, at)};`;
  });
  return `{\n${lines.join('\n')}\n${indent}}`;
}

const HEADER = `/**
 * Types of the wx-login-backend mini program client (wxlogin-client.js beside this file), made by
 * \`npm run build:client\` from the client and the server's router. They need nothing else: no DOM,
 * no Node, no tRPC; ES2018's libraries are enough. Do not edit: build again when the server changes.
 *
 *   import { createMiniProgramClient, errorReason } from './lib/wxlogin-client';
 *   const client = createMiniProgramClient({ url: 'https://api.example.com/trpc', wx });
 *   const me = await client.api.auth.me.query();
 */`;

/**
 * Options of one call. tRPC's own also take an AbortSignal, which a mini program has no
 * constructor for; a call ends by itself after the client's timeoutMs.
 */
const CALL_OPTIONS = `/** Options of one call (passed to the client's links). */
export interface CallOptions {
  context?: Record<string, unknown>;
}`;

/** The declarations, as text. */
export async function clientDeclarations(): Promise<string> {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram({ rootNames: [entry], options: { ...config.options, noEmit: true } });
  const checker = program.getTypeChecker();
  const printer = new DeclarationPrinter(program);
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;

  const isRouter = (type: ts.Type) => {
    const def = checker.getPropertyOfType(type, '_def');
    return !!def && !!checker.getPropertyOfType(checker.getTypeOfSymbol(def), 'router');
  };
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    // The server's router type: on the phone, Api, RouterInputs and RouterOutputs say what it holds.
    if (target.flags & ts.SymbolFlags.TypeAlias && isRouter(checker.getDeclaredTypeOfSymbol(target))) continue;
    const spec = exported.declarations?.[0];
    const typeOnly = !!spec && ts.isExportSpecifier(spec) && (spec.isTypeOnly || spec.parent.parent.isTypeOnly);
    printer.name(target, exported.name, typeOnly);
  }
  const declarations = printer.declarations();
  if (!printer.trpcClient) throw new Error("client/index.ts's API names no typed tRPC client: nothing to derive Api from");

  const tree = apiTree(printer, checker, printer.trpcClient, await routerProcedures());
  const index = (path: string[]) => path.map((s) => `[${JSON.stringify(s).replace(/^"|"$/g, "'")}]`).join('');
  const inputs = printTree(tree, '', (p, _path, indent) => printer.type(p.input, indent));
  const outputs = printTree(tree, '', (p, _path, indent) => printer.type(p.output, indent));
  const api = printTree(
    tree,
    '',
    (p, path) => `{ ${p.kind}(input${p.inputOptional ? '?' : ''}: RouterInputs${index(path)}, opts?: CallOptions): Promise<RouterOutputs${index(path)}> }`,
  );
  // Types the procedures' types named that were not declared yet (a client type in an output).
  const late = printer.declarations().slice(declarations.length);

  return [
    HEADER,
    ...declarations,
    ...late,
    `/** The inputs of the procedures a mini program can call, by path (\`RouterInputs['auth']['login']\`). */\nexport interface RouterInputs ${inputs}`,
    `/** What the procedures answer, by path (\`RouterOutputs['user']['sessions']\`). */\nexport interface RouterOutputs ${outputs}`,
    CALL_OPTIONS,
    `/** The typed API: \`await client.api.auth.me.query()\`. */\nexport interface Api ${api}`,
    '',
  ].join('\n\n');
}

/** Fails unless `text` type-checks alone: strict, ES2018's libraries, no other types at all. */
function checkStandalone(text: string): void {
  const fileName = join(root, '.data', 'standalone', 'wxlogin-client.d.ts');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, lib: ['lib.es2018.d.ts'], types: [], skipLibCheck: false, target: ts.ScriptTarget.ES2018 };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (resolve(name) === fileName ? text : readFile(name));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => resolve(name) === fileName || fileExists(name);
  const program = ts.createProgram({ rootNames: [fileName], options, host });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length) {
    throw new Error(`The emitted declarations do not stand alone:\n${ts.formatDiagnostics(diagnostics, { ...host, getNewLine: () => '\n', getCanonicalFileName: (f) => f, getCurrentDirectory: () => root })}`);
  }
  if (/^\s*import\b|\bimport\(|\brequire\(|declare module/m.test(text)) throw new Error('The emitted declarations import something');
}

/** The declarations, checked to stand alone. */
export async function standaloneClientDeclarations(): Promise<string> {
  const text = await clientDeclarations();
  checkStandalone(text);
  return text;
}
