// Glance's task schemas (glance/api/v2/tasks.py _TASK_SCHEMA): /v2/schemas/task and
// /v2/schemas/tasks, the list's stubs without input, result and message.

const UUID_PATTERN = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'

const PROPERTIES: Record<string, unknown> = {
  id: { description: 'An identifier for the task', pattern: UUID_PATTERN, type: 'string' },
  type: { description: 'The type of task represented by this content', enum: ['import', 'api_image_import'], type: 'string' },
  status: { description: 'The current status of this task', enum: ['pending', 'processing', 'success', 'failure'], type: 'string' },
  input: { description: 'The parameters required by task, JSON blob', type: ['null', 'object'] },
  result: { description: 'The result of current task, JSON blob', type: ['null', 'object'] },
  owner: { description: 'An identifier for the owner of this task', type: 'string' },
  message: { description: 'Human-readable informative message only included when appropriate (usually on failure)', type: 'string' },
  image_id: { description: 'Image associated with the task', type: 'string' },
  request_id: { description: 'Human-readable informative request-id', type: 'string' },
  user_id: { description: 'User associated with the task', type: 'string' },
  expires_at: { description: 'Datetime when this resource would be subject to removal', type: ['null', 'string'] },
  created_at: { description: 'Datetime when this resource was created', type: 'string' },
  updated_at: { description: 'Datetime when this resource was updated', type: 'string' },
  self: { readOnly: true, type: 'string' },
  schema: { readOnly: true, type: 'string' }
}

export const TASK_SCHEMA = { name: 'task', properties: PROPERTIES }

const STUB = Object.fromEntries(Object.entries(PROPERTIES).filter(([k]) => !['input', 'result', 'message'].includes(k)))

export const TASKS_SCHEMA = {
  name: 'tasks',
  properties: {
    tasks: { type: 'array', items: { name: 'task', properties: STUB } },
    schema: { type: 'string' },
    first: { type: 'string' },
    next: { type: 'string' }
  },
  links: [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }, { rel: 'describedby', href: '{schema}' }]
}
