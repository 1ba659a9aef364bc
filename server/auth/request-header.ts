/** The custom header every API call from Ferry's pages carries. Shared by the browser bundle and the server. */
export const REQUEST_HEADER = 'x-ferry-request';
export const REQUEST_HEADER_VALUE = '1';
