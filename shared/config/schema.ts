/**
 * The configuration schema: one field specification per key (type, default, range, flag), and
 * the typed object a schema describes.
 *
 * @module
 */

/** What every field specification has: its description and how it is set from the command line. */
export interface FieldBase {
  /** One-line description, used by `--help`. */
  description: string;
  /** Flag name without dashes; defaults to the key with `_` turned to `-`. `false`: no flag. */
  flag?: string | false;
  /** Extra long flag names (e.g. `listen` for `listen_addr`). */
  aliases?: readonly string[];
  /** A one-letter short flag. */
  short?: string;
  /** Environment variable used when neither file nor flag sets the key. */
  env?: string;
}

/** A string value. */
export interface StringField extends FieldBase {
  /** The kind of value. */
  type: "string";
  /** Value when neither file, env nor flag sets the key. */
  default?: string;
  /** May be left unset (the value is then `undefined`). @default false */
  optional?: boolean;
}
/** An integer (or a float when `type` is "number") with an optional range. */
export interface NumberField extends FieldBase {
  /** The kind of value. */
  type: "integer" | "number";
  /** Value when neither file, env nor flag sets the key. */
  default?: number;
  /** May be left unset (the value is then `undefined`). @default false */
  optional?: boolean;
  /** Smallest value accepted. */
  min?: number;
  /** Largest value accepted. */
  max?: number;
}
/** A duration in seconds: a number, or text such as `500ms`, `10s`, `2m`. */
export interface DurationField extends FieldBase {
  /** The kind of value. */
  type: "duration";
  /** Value when neither file, env nor flag sets the key. */
  default?: number;
  /** May be left unset (the value is then `undefined`). @default false */
  optional?: boolean;
  /** Smallest value accepted. */
  min?: number;
  /** Largest value accepted. */
  max?: number;
}
/** A byte count: a number, or text such as `64KiB`, `1MB`. */
export interface SizeField extends FieldBase {
  /** The kind of value. */
  type: "size";
  /** Value when neither file, env nor flag sets the key. */
  default?: number;
  /** May be left unset (the value is then `undefined`). @default false */
  optional?: boolean;
  /** Smallest value accepted. */
  min?: number;
  /** Largest value accepted. */
  max?: number;
}
/** A boolean. */
export interface BooleanField extends FieldBase {
  /** The kind of value. */
  type: "boolean";
  /** Value when neither file, env nor flag sets the key. */
  default?: boolean;
  /** May be left unset (the value is then `undefined`). @default false */
  optional?: boolean;
}
/** A `host:port` address; `allowOff` also accepts the word `off`. */
export interface AddressField extends FieldBase {
  /** The kind of value. */
  type: "address";
  /** Value when neither file, env nor flag sets the key. */
  default?: string;
  /** May be left unset (the value is then `undefined`). @default false */
  optional?: boolean;
  /** Also accept the word `off`. @default false */
  allowOff?: boolean;
}
/** One of a fixed set of words. */
export interface EnumField<V extends string = string> extends FieldBase {
  /** The kind of value. */
  type: "enum";
  /** The accepted words. */
  values: readonly V[];
  /** Value when neither file, env nor flag sets the key. */
  default?: V;
  /** May be left unset (the value is then `undefined`). @default false */
  optional?: boolean;
}
/** An array of strings; its flag may be repeated. `item` validates each element. */
export interface StringsField extends FieldBase {
  /** The kind of value. */
  type: "strings";
  /** Value when neither file, env nor flag sets the key. */
  default?: readonly string[];
  /** Validates one element: returns a reason to reject it, or undefined. */
  item?: (value: string) => string | undefined;
}
/** A sub-table (`[health_check]`). */
export interface TableField<S extends Schema = Schema> extends FieldBase {
  /** The kind of value. */
  type: "table";
  /** The sub-table's own schema. */
  fields: S;
}
/** An array of tables (`[[backends]]`); `fromFlag` turns one repeated flag value into a table. */
export interface TablesField<S extends Schema = Schema> extends FieldBase {
  /** The kind of value. */
  type: "tables";
  /** The sub-table's own schema. */
  fields: S;
  /** Turns one value of the repeated flag into a table. @default `{ addr: value }` */
  fromFlag?: (value: string) => Record<string, unknown>;
}
/** Named sub-tables (`[pools.web]`, `[pools.api]`): any name, each table with `fields`. */
export interface TableMapField<S extends Schema = Schema> extends FieldBase {
  /** The kind of value. */
  type: "tablemap";
  /** The schema every named table follows. */
  fields: S;
  /** Validates one name: returns a reason to reject it, or undefined. */
  name?: (value: string) => string | undefined;
}
/** A key still accepted for compatibility but ignored; a one-line notice is reported. */
export interface IgnoredField extends FieldBase {
  /** The kind of value. */
  type: "ignored";
  /** The one-line notice reported when the key is present. */
  notice: string;
}

/** One key's specification. */
export type FieldSpec =
  | StringField
  | NumberField
  | DurationField
  | SizeField
  | BooleanField
  | AddressField
  | EnumField
  | StringsField
  | TableField
  | TablesField
  | TableMapField
  | IgnoredField;

/** A configuration schema: key name to specification. */
export type Schema = Readonly<Record<string, FieldSpec>>;

/** `T`, or `T | undefined` when the field is optional or has no default. */
export type Optional<F, T> = F extends { optional: true } ? T | undefined
  : F extends { default: unknown } ? T
  : T | undefined;

/** The value type of one field. */
export type ValueOf<F> = F extends { type: "integer" | "number" | "duration" | "size" }
  ? Optional<F, number>
  : F extends { type: "boolean" } ? Optional<F, boolean>
  : F extends { type: "enum"; values: readonly (infer V)[] } ? Optional<F, V>
  : F extends { type: "strings" } ? string[]
  : F extends { type: "table"; fields: infer S } ? ConfigOf<S>
  : F extends { type: "tables"; fields: infer S } ? ConfigOf<S>[]
  : F extends { type: "tablemap"; fields: infer S } ? Record<string, ConfigOf<S>>
  : F extends { type: "ignored" } ? undefined
  : Optional<F, string>;

/** The typed configuration object a schema describes. */
export type ConfigOf<S> = { -readonly [K in keyof S]: ValueOf<S[K]> };
