export default { lesson: ['widget', 'second', 'iframe', 'prose'] };
