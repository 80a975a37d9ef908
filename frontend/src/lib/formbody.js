/**
 * The JSON body a console form sends: text fields by name (empty optional ones left out, so the server applies
 * its default), checkboxes as true/false. Pure: takes the fields as plain {name, value, type, checked, required}.
 */
export function formBody(fields) {
  const body = {};
  for (const field of fields) {
    if (!field.name) continue;
    if (field.type === 'checkbox') body[field.name] = Boolean(field.checked);
    else if (field.value !== '' || field.required) body[field.name] = field.value;
  }
  return body;
}

/** Merge a button's fixed body (its data-body JSON) with a prompted value; throws on a malformed data-body. */
export function buttonBody(fixedJson, field = null, value = null) {
  const body = fixedJson ? JSON.parse(fixedJson) : {};
  if (field) body[field] = value;
  return body;
}
