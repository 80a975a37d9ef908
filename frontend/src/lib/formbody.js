/**
 * The JSON body a console form sends: text fields by name (empty optional ones left out, so the server applies
 * its default), checkboxes as true/false, number fields as numbers; a dotted name ("targets.class_name") goes into
 * a nested object. Pure: takes the fields as plain {name, value, type, checked, required}.
 */
export function formBody(fields) {
  const body = {};
  for (const field of fields) {
    if (!field.name) continue;
    if (field.type === 'checkbox') place(body, field.name, Boolean(field.checked));
    else if (field.value !== '' || field.required) place(body, field.name, fieldValue(field));
  }
  return body;
}

function fieldValue(field) {
  if (field.type !== 'number' || field.value.trim() === '') return field.value;
  const number = Number(field.value);
  return Number.isFinite(number) ? number : field.value; // the server names a field that is not a number
}

function place(body, name, value) {
  const path = name.split('.');
  let node = body;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key];
  }
  node[path[path.length - 1]] = value;
}

/** Merge a button's fixed body (its data-body JSON) with a prompted value; throws on a malformed data-body. */
export function buttonBody(fixedJson, field = null, value = null) {
  const body = fixedJson ? JSON.parse(fixedJson) : {};
  if (field) body[field] = value;
  return body;
}
