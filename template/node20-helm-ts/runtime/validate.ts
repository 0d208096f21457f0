// JSON-schema validation of request bodies (ajv, compiled once per schema, strict, allErrors).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { FunctionError } from './errors.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true, coerceTypes: false });
addFormats(ajv);

export type Validator<T> = (body: unknown) => T;

function describe(errors: ErrorObject[] | null | undefined): { path: string; message: string }[] {
  return (errors ?? []).map((e) => ({
    path: e.instancePath || '/',
    message:
      e.keyword === 'additionalProperties'
        ? `unknown property "${String((e.params as { additionalProperty: string }).additionalProperty)}"`
        : (e.message ?? 'is invalid'),
  }));
}

/** Compiles a schema once; the returned function returns the body typed as T or throws INVALID_INPUT. */
export function compileValidator<T>(schema: object): Validator<T> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (body: unknown): T => {
    if (!validate(body)) {
      throw new FunctionError('INVALID_INPUT', 'The request body is invalid', describe(validate.errors));
    }
    return body as T;
  };
}
