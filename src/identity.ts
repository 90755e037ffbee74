// Who is asking. Built once per request by the auth layer and read by every other layer.

export interface Identity {
  projectId: string | null
  userId: string | null
  roles: string[]
  isAdmin: boolean
}
