// Callers for servers started with trusted-header auth: the headers keystonemiddleware (or a
// proxy) would send for an admin or a plain member of a project.

export const TRUSTED_AUTH = '[paste_deploy]\nflavor = trusted-auth\n'

export function member (project: string, user = `${project}-user`): Record<string, string> {
  return { 'X-Identity-Status': 'Confirmed', 'X-Roles': 'member', 'X-Project-Id': project, 'X-User-Id': user }
}

export function admin (project = 'admin-project'): Record<string, string> {
  return { 'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin,member', 'X-Project-Id': project, 'X-User-Id': 'admin-user' }
}
