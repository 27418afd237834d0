import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

/**
 * Fastify's own schema compilers (Ajv for requests, fast-json-stringify for answers), loaded and
 * run only when a route is first called rather than for every route at start-up (issue 16 §3).
 * Compiling the request validators of all ~80 routes when the server is ready, and loading Ajv,
 * ajv-formats and fast-json-stringify for it, cost about 9 MiB of an idle gateway's memory;
 * most routes are never called on a given day. Behaviour is unchanged: the same compilers with
 * the same options validate the same schemas (api/openapi/route-doc.ts), just at the first
 * request of each route instead. A schema Ajv refuses would now fail that request with a 500
 * instead of the start-up; `compileAll()` compiles every route's schema at once, which
 * test/api/openapi does, so that stays a test failure.
 */

type Validator = ((data: unknown) => unknown) & { errors?: unknown };
type CompilerFactory = (externalSchemas: unknown, options: unknown) => (route: unknown) => unknown;

// Fastify's own dependencies, resolved from Fastify (they need not be hoisted next to ours).
const require = createRequire(createRequire(import.meta.url).resolve('fastify'));

/** `compilersFactory.buildValidator`: the same pool of Ajv instances Fastify builds by default. */
function lazyValidatorFactory(created: Array<() => void>): CompilerFactory {
  let ajvFactory: CompilerFactory | undefined;
  return (externalSchemas, options) => {
    let compile: ((route: unknown) => unknown) | undefined;
    return (route) => {
      let validate: Validator | undefined;
      const ready = (): Validator => {
        if (!validate) {
          ajvFactory ??= (require('@fastify/ajv-compiler') as () => CompilerFactory)();
          compile ??= ajvFactory(externalSchemas, options);
          validate = compile(route) as Validator;
        }
        return validate;
      };
      created.push(ready);
      const lazy: Validator = (data) => {
        const validate = ready();
        const result = validate(data);
        // Fastify reads the failures from the validator it was given (lib/validation.js).
        lazy.errors = validate.errors;
        return result;
      };
      return lazy;
    };
  };
}

/** `compilersFactory.buildSerializer`: fast-json-stringify, for a route that has a response schema. */
function lazySerializerFactory(): CompilerFactory {
  let fjsFactory: CompilerFactory | undefined;
  return (externalSchemas, options) => {
    let compile: ((route: unknown) => unknown) | undefined;
    return (route) => {
      let serialize: ((data: unknown) => string) | undefined;
      return (data: unknown) => {
        if (!serialize) {
          fjsFactory ??= (require('@fastify/fast-json-stringify-compiler') as () => CompilerFactory)();
          compile ??= fjsFactory(externalSchemas, options);
          serialize = compile(route) as (data: unknown) => string;
        }
        return serialize(data);
      };
    };
  };
}

/** The `schemaController` option for `Fastify({...})`, and `compileAll()`: every request schema compiled now (tests); returns how many. */
export function lazySchemaController(): { option: NonNullable<FastifyServerOptions['schemaController']>; compileAll(): number } {
  const created: Array<() => void> = [];
  const option = { compilersFactory: { buildValidator: lazyValidatorFactory(created), buildSerializer: lazySerializerFactory() } } as NonNullable<FastifyServerOptions['schemaController']>;
  return {
    option,
    compileAll() {
      for (const ready of created) ready();
      return created.length;
    },
  };
}
